"""The local foundry: a stand-in for Azure AI Foundry that really fine-tunes on the CPU and serves the result.

`LocalFoundry` (in `server`) runs the management API and the OpenAI-compatible endpoints on 127.0.0.1;
training jobs run in subprocesses (`python -m devhost.local_foundry.train_job`). Only the training job and
the serving code import torch, and only when they run.
"""
