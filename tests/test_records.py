"""The boundary records survive a trip through JSON unchanged."""

from archlab.records import CampaignSpec, Constraints, CurvePoint, Result


def test_result_round_trips_through_json():
    r = Result(status="ok", val_accuracy=0.93, test_accuracy=0.92, params=5210,
               curve=[CurvePoint(step=10, train_loss=1.2, val_accuracy=0.5)])
    again = Result.model_validate_json(r.model_dump_json())
    assert again == r and again.ok


def test_failed_result_keeps_its_kind():
    r = Result(status="failed", failure="timeout", error="wall-clock limit 5s hit")
    assert not Result.model_validate_json(r.model_dump_json()).ok
    assert Result.model_validate_json(r.model_dump_json()).failure == "timeout"


def test_spec_defaults_are_a_runnable_offline_campaign():
    spec = CampaignSpec(goal="find a small accurate model for MNIST-1D",
                        constraints=Constraints(max_params=25_000))
    assert spec.task == "mnist1d" and spec.model == "mock" and spec.strategy == "agentic"
    assert CampaignSpec.model_validate_json(spec.model_dump_json()) == spec
