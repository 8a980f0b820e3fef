"""Promotion under contention: the alias record is guarded by ETags, so no promotion is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shared.bootstrap import Services
from shared.models import DeploymentRef, PromoteInput
from shared.steps.promote import promote_deployment, read_alias
from tests.unit.pipeline.conftest import World


def test_concurrent_promotions_of_one_family_keep_every_update(world: World) -> None:
    services: Services = world.services
    requests = [
        PromoteInput(
            run_id=f"ft-run-{n:012d}",
            family="xbox",
            deployment=DeploymentRef(name=f"dep-{n}", model_name=f"model-{n}", model_version="1"),
        )
        for n in range(8)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda request: promote_deployment(services, request), requests))
    record, _ = read_alias(services, "xbox")
    assert record is not None
    recorded = {record.current.run_id, *(entry.run_id for entry in record.history)}
    assert recorded == {request.run_id for request in requests}


def test_promoting_the_same_run_twice_is_one_promotion(world: World) -> None:
    request = PromoteInput(
        run_id="ft-run-000000000001",
        family="xbox",
        deployment=DeploymentRef(name="d", model_name="m", model_version="1"),
    )
    first = promote_deployment(world.services, request)
    second = promote_deployment(world.services, request)
    assert first == second
    record, _ = read_alias(world.services, "xbox")
    assert record is not None
    assert record.history == []
