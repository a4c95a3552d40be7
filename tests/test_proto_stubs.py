"""The checked-in Pub/Sub stubs are exactly what protoc generates from proto/pubsub_api.proto."""

from __future__ import annotations

from pathlib import Path

import pytest
from grpc_tools import protoc

from proto import pubsub_api_pb2 as pb

REPO = Path(__file__).resolve().parent.parent
GENERATED = ("pubsub_api_pb2.py", "pubsub_api_pb2.pyi", "pubsub_api_pb2_grpc.py")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stubs")
    include = Path(protoc.__file__).parent / "_proto"
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{REPO}",
            f"-I{include}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            str(REPO / "proto" / "pubsub_api.proto"),
        ]
    )
    assert code == 0
    return out / "proto"


@pytest.mark.parametrize("name", GENERATED)
def test_checked_in_stubs_match_a_fresh_protoc_run(regenerated: Path, name: str) -> None:
    fresh = (regenerated / name).read_bytes()
    checked_in = (REPO / "proto" / name).read_bytes()
    assert fresh == checked_in, f"proto/{name} is stale: run make proto"


def test_service_has_the_six_rpcs_with_their_streaming_shapes() -> None:
    service = pb.DESCRIPTOR.services_by_name["PubSub"]
    assert service.full_name == "eventbus.v1.PubSub"
    shapes = {m.name: (m.client_streaming, m.server_streaming) for m in service.methods}
    assert shapes == {
        "Subscribe": (True, True),
        "GetSchema": (False, False),
        "GetTopic": (False, False),
        "Publish": (False, False),
        "PublishStream": (True, True),
        "ManagedSubscribe": (True, True),
    }


@pytest.mark.parametrize(
    ("message", "field", "number"),
    [
        ("FetchRequest", "topic_name", 1),
        ("FetchRequest", "replay_preset", 2),
        ("FetchRequest", "replay_id", 3),
        ("FetchRequest", "num_requested", 4),
        ("FetchResponse", "events", 1),
        ("FetchResponse", "latest_replay_id", 2),
        ("FetchResponse", "rpc_id", 3),
        ("FetchResponse", "pending_num_requested", 4),
        ("ConsumerEvent", "event", 1),
        ("ConsumerEvent", "replay_id", 2),
        ("ProducerEvent", "id", 1),
        ("ProducerEvent", "schema_id", 2),
        ("ProducerEvent", "payload", 3),
        ("PublishResult", "replay_id", 1),
        ("PublishResult", "error", 2),
        ("PublishResult", "correlation_key", 3),
        ("TopicInfo", "tenant_guid", 2),
        ("TopicInfo", "can_publish", 3),
        ("TopicInfo", "can_subscribe", 4),
        ("TopicInfo", "schema_id", 5),
        ("SchemaInfo", "schema_json", 1),
        ("SchemaInfo", "schema_id", 2),
    ],
)
def test_key_field_numbers(message: str, field: str, number: int) -> None:
    assert pb.DESCRIPTOR.message_types_by_name[message].fields_by_name[field].number == number


def test_enums_and_package() -> None:
    assert pb.DESCRIPTOR.package == "eventbus.v1"
    assert dict(pb.ReplayPreset.items()) == {"LATEST": 0, "EARLIEST": 1, "CUSTOM": 2}
    assert dict(pb.ErrorCode.items()) == {"UNKNOWN": 0, "PUBLISH": 1, "COMMIT": 2}
