"""The app's triggers (blob, HTTP, Service Bus, timer): turn a request into a command and hand it on."""
