"""Deployments of registered models: asynchronous provisioning, per-deployment keys (files, mode 0600)."""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from devhost.local_foundry.config import FoundryConfig, FoundryFaults
from devhost.local_foundry.errors import ConflictError, NotFoundError
from devhost.local_foundry.registry import DeploymentRecord, ModelRecord, Registry
from devhost.local_foundry.serving import ModelServer
from shared.foundry.port import DeploymentRequest, DeploymentState

CHECKPOINT = "merged"


class KeyStore:
    """One random key per deployment, each in its own file readable by this user only."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)

    def _path(self, deployment: str) -> Path:
        return self._directory / f"{deployment}.key"

    def create(self, deployment: str) -> None:
        """Give the deployment a key unless it has one."""
        path = self._path(deployment)
        with contextlib.suppress(FileExistsError):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(secrets.token_urlsafe(32))

    def get(self, deployment: str) -> str | None:
        """The deployment's key, if it has one."""
        try:
            return self._path(deployment).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def delete(self, deployment: str) -> None:
        """Forget the deployment's key."""
        self._path(deployment).unlink(missing_ok=True)

    def accepts(self, deployment: str, presented: str | None) -> bool:
        """Whether `presented` is the deployment's key (compared in constant time)."""
        key = self.get(deployment)
        if not key or not presented:
            return False
        return hmac.compare_digest(key.encode(), presented.encode())


class Deployments:
    """Create, read, delete and serve deployments; archive models."""

    def __init__(
        self,
        registry: Registry,
        keys: KeyStore,
        server: ModelServer,
        config: FoundryConfig,
        faults: Callable[[], FoundryFaults],
    ) -> None:
        self._registry = registry
        self._keys = keys
        self._server = server
        self._config = config
        self._faults = faults

    def create(self, request: DeploymentRequest) -> tuple[DeploymentRecord, bool]:
        """Start provisioning, or return the deployment of that name; the flag says whether it was created."""
        existing = self._registry.get_deployment(request.name)
        if existing:
            if (existing.model_name, existing.model_version) != (request.model.name, request.model.version):
                raise ConflictError(
                    f"deployment {request.name!r} exists already and serves model "
                    f"{existing.model_name} version {existing.model_version}"
                )
            return existing, False
        model = self.model(request.model.name, request.model.version)
        if model.archived:
            raise ConflictError(f"model {model.name} version {model.version} is archived and cannot be deployed")
        record = DeploymentRecord(
            name=request.name,
            model_name=model.name,
            model_version=model.version,
            tags=request.tags,
            ready_at=time.time() + self._config.provision_seconds,
        )
        self._keys.create(request.name)
        self._server.warm_up()
        return self._registry.insert_deployment(record), True

    def get(self, name: str) -> DeploymentRecord:
        """The deployment, its provisioning advanced to where time and the fault settings say it is."""
        record = self._registry.get_deployment(name)
        if record is None:
            raise NotFoundError(f"no deployment named {name!r}")
        if record.state != DeploymentState.PROVISIONING:
            return record
        faults = self._faults()
        if faults.matches(faults.stuck_deployments, name) or time.time() < record.ready_at:
            return record
        if faults.matches(faults.failed_deployments, name):
            record.state, record.message = DeploymentState.FAILED, "injected fault: provisioning failed"
        elif not (self.checkpoint(record)).is_dir():
            record.state, record.message = DeploymentState.FAILED, "the model's checkpoint is missing on disk"
        else:
            record.state, record.message = DeploymentState.SUCCEEDED, "serving"
            self._server.preload(name, self.checkpoint(record))
        self._registry.save_deployment(record)
        return record

    def all(self) -> list[DeploymentRecord]:
        """Every deployment, each as `get` sees it."""
        return [self.get(record.name) for record in self._registry.deployments()]

    def delete(self, name: str) -> None:
        """Delete the deployment, its key and its model from memory."""
        if self._registry.get_deployment(name) is None:
            raise NotFoundError(f"no deployment named {name!r}")
        self._registry.delete_deployment(name)
        self._keys.delete(name)
        self._server.unload(name)

    def key(self, name: str) -> str:
        """The deployment's key."""
        self.get(name)
        key = self._keys.get(name)
        if key is None:
            raise NotFoundError(f"deployment {name!r} has no key")
        return key

    def model(self, name: str, version: str) -> ModelRecord:
        """A registered model version."""
        model = self._registry.get_model(name, version)
        if model is None:
            raise NotFoundError(f"no model {name!r} version {version!r}")
        return model

    def archive(self, name: str, version: str) -> ModelRecord:
        """Archive a model version; refused while a deployment serves it."""
        model = self.model(name, version)
        users = [d.name for d in self._registry.deployments() if (d.model_name, d.model_version) == (name, version)]
        if users:
            raise ConflictError(f"model {name} version {version} is deployed ({', '.join(users)}); delete those first")
        if not model.archived:
            model.archived = True
            self._registry.save_model(model)
        return model

    def checkpoint(self, record: DeploymentRecord) -> Path:
        """The folder of the merged checkpoint the deployment serves."""
        return Path(self.model(record.model_name, record.model_version).path) / CHECKPOINT
