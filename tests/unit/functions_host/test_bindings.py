from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import azure.functions as func
import pytest
from azure.servicebus import ServiceBusReceivedMessage, ServiceBusReceiveMode
from azure.servicebus._pyamqp.message import Header, Message, Properties

from devhost.functions_host import FunctionsHost, discover_triggers
from devhost.functions_host.blob_binding import StreamedBlobInputStream
from devhost.functions_host.discovery import BlobBinding, HttpBinding, ServiceBusBinding, TimerBinding
from devhost.functions_host.servicebus_binding import build_servicebus_message
from shared.errors import ConfigurationError
from shared.storage import BlobInfo
from tests.fakes import sample_functions_app

ENV = {"COMMANDS_QUEUE": "finetune-commands"}
MANAGEMENT = "http://127.0.0.1:9/runtime/webhooks/durabletask"


def client_binding() -> str:
    """A durable client binding shaped like the host's, pointing at a management URL on loopback."""
    instance = f"{MANAGEMENT}/instances/INSTANCEID"
    return json.dumps(
        {
            "taskHubName": "testhub",
            "creationUrls": {"createNewInstancePostUri": f"{MANAGEMENT}/orchestrators/{{functionName}}"},
            "managementUrls": {
                "id": "INSTANCEID",
                "statusQueryGetUri": instance,
                "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}",
                "terminatePostUri": f"{instance}/terminate?reason={{text}}",
                "purgeHistoryDeleteUri": instance,
            },
            "baseUrl": MANAGEMENT,
            "rpcBaseUrl": MANAGEMENT + "/",
        }
    )


@pytest.fixture
def host() -> Iterator[FunctionsHost]:
    functions = FunctionsHost(sample_functions_app.build_app(), client_binding, environ=ENV)
    sample_functions_app.calls.clear()
    yield functions
    functions.close()


class ChunkStore:
    """Just enough of the BlobStore port for a blob trigger: counts the chunks handed out."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.data, self.chunk, self.served = data, chunk, 0

    def url(self, container: str, name: str) -> str:
        return f"http://127.0.0.1:10000/devstoreaccount1/{container}/{name}"

    def download_chunks(self, container: str, name: str, chunk_bytes: int = 0) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.chunk):
            self.served += 1
            yield self.data[start : start + self.chunk]


def blob_info(size: int) -> BlobInfo:
    return BlobInfo(
        container="training-data",
        name="xbox/train.jsonl",
        etag='"0x8DE1"',
        size=size,
        last_modified=datetime(2026, 1, 1, tzinfo=UTC),
        content_type="application/jsonl",
        metadata={"ft_epochs": "2"},
    )


def test_discovery_reads_every_non_durable_trigger_from_the_bindings() -> None:
    triggers = {t.name: t for t in discover_triggers(sample_functions_app.build_app(), ENV)}
    assert "orchestrator" not in triggers
    assert "echo" not in triggers
    assert triggers["run_command"].binding == HttpBinding(
        route="runs/{runId}/{command}", methods=("POST",), auth_level="function"
    )
    assert triggers["run_command"].durable_client_arg == "client"
    assert triggers["health"].durable_client_arg is None
    upload = triggers["on_upload"]
    assert upload.kind == "blob"
    assert upload.trigger_arg == "blob"
    assert upload.durable_client_arg == "starter"
    assert isinstance(upload.binding, BlobBinding)
    assert upload.binding.container == "training-data"
    assert upload.binding.source == "EventGrid"
    assert triggers["on_command"].binding == ServiceBusBinding(
        queue_name="finetune-commands", connection="SERVICEBUS_CONNECTION_STRING"
    )
    assert triggers["every_second"].binding == TimerBinding(schedule="*/1 * * * * *")


def test_discovery_can_run_twice_on_one_app() -> None:
    app = sample_functions_app.build_app()
    assert [t.name for t in discover_triggers(app, ENV)] == [t.name for t in discover_triggers(app, ENV)]


def test_missing_setting_in_a_binding_expression_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="COMMANDS_QUEUE"):
        discover_triggers(sample_functions_app.build_app(), {})


def test_blob_stream_downloads_only_what_is_read() -> None:
    data = b"0123456789" * 10
    store = ChunkStore(data, chunk=10)
    stream = StreamedBlobInputStream(store, blob_info(len(data)))  # type: ignore[arg-type]
    assert isinstance(stream, func.InputStream)
    assert store.served == 0
    assert stream.read(15) == data[:15]
    assert store.served == 2
    assert stream.read() == data[15:]
    assert store.served == 10
    assert stream.read() == b""
    assert stream.name == "training-data/xbox/train.jsonl"
    assert stream.length == 100
    assert stream.uri == "http://127.0.0.1:10000/devstoreaccount1/training-data/xbox/train.jsonl"
    assert stream.metadata == {"ft_epochs": "2"}
    assert stream.blob_properties["ETag"] == '"0x8DE1"'


def test_blob_trigger_gets_the_stream_and_a_durable_client(host: FunctionsHost) -> None:
    (trigger,) = host.blob_triggers("training-data")
    assert host.blob_triggers("other") == []
    host.invoke_blob(trigger, ChunkStore(b"hello world", chunk=3), blob_info(11))  # type: ignore[arg-type]
    assert sample_functions_app.calls == [
        (
            "on_upload",
            {"name": "training-data/xbox/train.jsonl", "first": b"hell", "rest": b"o world", "task_hub": "testhub"},
        )
    ]


def received(**overrides: object) -> ServiceBusReceivedMessage:
    message = Message(
        header=Header(delivery_count=0),
        properties=Properties(
            message_id=b"cmd-1", correlation_id=b"corr-1", content_type=b"application/json", subject=b"cancel"
        ),
        application_properties={b"runId": b"ft-x-0123456789ab", b"attempt": 2},
        data=[b'{"command": ', b'"cancel"}'],
        message_annotations={b"x-opt-sequence-number": 7, b"x-opt-enqueued-time": 1767225600000},
    )
    return ServiceBusReceivedMessage(
        message._replace(**overrides), receive_mode=ServiceBusReceiveMode.PEEK_LOCK, receiver=None
    )


def test_servicebus_message_carries_body_ids_and_normalised_properties() -> None:
    message = build_servicebus_message(received())
    assert message.get_body() == b'{"command": "cancel"}'
    assert message.message_id == "cmd-1"
    assert message.correlation_id == "corr-1"
    assert message.content_type == "application/json"
    assert message.subject == "cancel"
    assert message.application_properties == {"runId": "ft-x-0123456789ab", "attempt": 2}
    assert message.user_properties == message.application_properties
    assert message.delivery_count == 1  # first delivery, as the host's .NET SDK reports it
    assert message.sequence_number == 7
    assert message.enqueued_time_utc == datetime(2026, 1, 1, tzinfo=UTC)


def test_servicebus_trigger_is_invoked_with_the_message(host: FunctionsHost) -> None:
    (trigger,) = host.servicebus_triggers("finetune-commands")
    assert host.servicebus_triggers("nope") == []
    host.invoke_servicebus(trigger, received(header=Header(delivery_count=3)))
    ((name, message),) = sample_functions_app.calls
    assert name == "on_command"
    assert isinstance(message, func.ServiceBusMessage)
    assert message.delivery_count == 4


def test_timer_trigger_gets_a_timer_request_and_records_its_status(host: FunctionsHost, tmp_path: Path) -> None:
    status_path = tmp_path / "timers.json"
    moment = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    scheduler = host.timer_scheduler(status_path, clock=lambda: moment)
    scheduler.fire(host.function("every_second"), past_due=True)
    ((name, request),) = sample_functions_app.calls
    assert name == "every_second"
    assert isinstance(request, func.TimerRequest)
    assert request.past_due is True
    assert request.schedule_status["Next"] == "2026-01-01T12:00:01+00:00"
    recorded = json.loads(status_path.read_text())
    assert recorded["every_second"]["last"] == "2026-01-01T12:00:00Z"
    assert recorded["every_second"]["next"] == "2026-01-01T12:00:01Z"


@pytest.mark.parametrize(
    ("path", "name", "fits"),
    [
        ("training-data/{name}", "a.jsonl", True),
        ("training-data/{name}", "team/a.jsonl", True),
        ("training-data/{name}.jsonl", "team/a.jsonl", True),
        ("training-data/{name}.jsonl", "team/a.csv", False),
        ("training-data/incoming/{name}", "incoming/a.jsonl", True),
        ("training-data/incoming/{name}", "other/a.jsonl", False),
    ],
)
def test_blob_path_pattern_selects_the_blobs_a_trigger_gets(path: str, name: str, fits: bool) -> None:
    assert BlobBinding(path=path).matches(name) is fits
