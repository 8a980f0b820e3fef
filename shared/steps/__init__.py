"""What each activity does, as plain functions of (services, typed input) -> typed result.

Every step is idempotent: names are derived from the run id, writes overwrite the same blobs, and creation
calls are get-or-create, so an activity that runs twice leaves one effect.
"""
