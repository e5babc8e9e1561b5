"""Stages as a DAG, without Ray: which stage waits for which, stages overlapping in their
threads, a failure stopping what waits for it, Ctrl-C stopping all, the trial gate sharing
the sweep's slots in plan order, and concurrent manifest updates."""

from __future__ import annotations

import _thread
import threading
import time
from types import SimpleNamespace

import pytest
from ray.tune.experiment import Trial
from test_plan import spec_from

from sweep.dag import run_dag, waits_for
from sweep.errors import StageFailed, SweepInterrupted
from sweep.manifest import Manifest
from sweep.plan import make_plan
from sweep.stages.gate import GateState, StageGate, TrialSlots, entered
from trainables.trial import START_CHECKPOINT


@pytest.fixture
def plan():
    return make_plan(spec_from())  # the offline default: 2 intermediates, 5 targets


def test_target_and_retrieval_stages_wait_for_their_intermediates_item_by_item(plan):
    assert waits_for(plan, plan.stage("target/synth_xnli")) == ()
    assert waits_for(plan, plan.stage("retrieval/synth_tatoeba")) == ()
    assert waits_for(plan, plan.stage("eval/synth_xnli")) == ("target/synth_xnli",)


class Trace:
    """A fake run_stage and what it did: each stage's start and end, in one clock. A stage
    lasts `seconds` (default 0.05), or with `until`, until the stages named have begun (at
    most 30 s): an overlap that holds whatever the machine's load."""

    def __init__(self, seconds: dict[str, float], fail: str | None = None,
                 interrupt_main: str | None = None,
                 until: dict[str, list[str]] | None = None) -> None:
        self.seconds, self.fail, self.interrupt_main = seconds, fail, interrupt_main
        self.until = until or {}
        self.spans: dict[str, tuple[float, float]] = {}
        self.begun: dict[str, threading.Event] = {}
        self.stopped: set[str] = set()
        self.lock = threading.Lock()
        self.origin = time.monotonic()

    def _began(self, name: str) -> threading.Event:
        with self.lock:
            return self.begun.setdefault(name, threading.Event())

    def __call__(self, stage, stop: threading.Event) -> None:
        begun = time.monotonic() - self.origin
        self._began(stage.name).set()
        if stage.name == self.interrupt_main:
            _thread.interrupt_main()  # what Ctrl-C does to the driver
        for other in self.until.get(stage.name, []):
            assert self._began(other).wait(30), f"{other} did not start during {stage.name}"
        if stop.wait(self.seconds.get(stage.name, 0.05)):
            with self.lock:
                self.stopped.add(stage.name)
            raise SweepInterrupted(f"{stage.name} stopped")
        if stage.name == self.fail:
            raise StageFailed(f"{stage.name}: a trial failed")
        with self.lock:
            self.spans[stage.name] = (begun, time.monotonic() - self.origin)


def test_stages_run_once_what_they_wait_for_is_done_and_overlap(plan):
    # Targets and retrieval run while the intermediates train, and a finished target's
    # evaluation runs while another target still trains: each stage named first here ends
    # only once those it lists have begun.
    trace = Trace({}, until={
        "intermediate/synth_nli": ["target/synth_xnli", "retrieval/synth_tatoeba"],
        "target/synth_pos": ["eval/synth_xnli"]})
    ran = run_dag(plan, plan.stages, set(), trace)
    assert ran == [stage.name for stage in plan.stages]  # every stage, in plan order
    spans = trace.spans
    for stage in plan.stages:
        for upstream in waits_for(plan, stage):
            assert spans[upstream][1] <= spans[stage.name][0], (upstream, stage.name)
    assert spans["target/synth_xnli"][0] < spans["intermediate/synth_nli"][1]
    assert spans["eval/synth_xnli"][0] < spans["target/synth_pos"][1]


def test_finished_stages_are_not_run_again(plan):
    finished = {"intermediate/synth_nli", "intermediate/synth_squad"}
    trace = Trace({})
    ran = run_dag(plan, plan.stages, finished, trace)
    assert not finished & set(ran) and not finished & set(trace.spans)


def test_a_failure_stops_what_waits_for_it_and_lets_the_rest_finish(plan):
    trace = Trace({"intermediate/synth_nli": 0.2, "intermediate/synth_squad": 0.8,
                   **{stage.name: 5.0 for stage in plan.stages
                      if stage.kind in ("target", "retrieval")}},
                  fail="intermediate/synth_nli")
    with pytest.raises(StageFailed, match="intermediate/synth_nli"):
        run_dag(plan, plan.stages, set(), trace)
    # The other intermediate ran to its end; every target and retrieval stage (whose work
    # may read the failed stage's checkpoint) was stopped, and no evaluation began.
    assert "intermediate/synth_squad" in trace.spans
    assert {"target/synth_xnli", "target/synth_pos", "retrieval/synth_tatoeba"} <= \
        trace.stopped
    assert not any(name.startswith("eval/") for name in trace.spans)


def test_a_stage_that_will_never_start_stops_those_waiting_for_it(plan):
    """A failure stops new starts: an intermediate still waiting for its images then never
    starts, and the target whose trials wait for its checkpoint must not wait for ever."""
    from dataclasses import replace

    from sweep.plan import Plan

    def stage(name, kind, depends_on=()):
        return replace(plan.stages[0], name=name, kind=kind, depends_on=tuple(depends_on))

    stages = (stage("precompute/images", "precompute"), stage("precompute/other", "precompute"),
              stage("intermediate/vision", "intermediate", ["precompute/images"]),
              stage("target/synth_xnli", "target", ["intermediate/vision"]))
    small = Plan(plan.spec, stages)
    trace = Trace({"precompute/images": 2.0, "target/synth_xnli": 30.0},
                  fail="precompute/other")
    started = time.monotonic()
    with pytest.raises(StageFailed, match="precompute/other"):
        run_dag(small, stages, set(), trace)
    assert time.monotonic() - started < 10
    assert "intermediate/vision" not in trace.spans and "target/synth_xnli" in trace.stopped


def test_ctrl_c_stops_every_running_stage(plan):
    # Each would run 30 s: Ctrl-C, however late the main thread takes it, lands while all
    # three run (the target, which sends it, may start before the intermediates).
    trace = Trace({"intermediate/synth_nli": 30.0, "intermediate/synth_squad": 30.0,
                   "target/synth_xnli": 30.0}, interrupt_main="target/synth_xnli")
    with pytest.raises(SweepInterrupted, match="--resume") as caught:
        run_dag(plan, plan.stages, set(), trace)
    assert {"intermediate/synth_nli", "intermediate/synth_squad",
            "target/synth_xnli"} <= trace.stopped
    assert "target/synth_xnli" in str(caught.value)


# -- the gate ---------------------------------------------------------------------------


class FakeTrial(SimpleNamespace):
    def set_status(self, status):
        self.status = status

    def set_config(self, config):
        self.config = config


class FakeController:
    """The part of Tune's controller a scheduler sees, with Tune's own moves: a trial the
    scheduler chooses becomes PENDING, and then RUNNING."""

    def __init__(self, gate: StageGate, trials: list[FakeTrial]) -> None:
        self.gate, self.trials = gate, []
        for trial in trials:
            self.add(trial)

    def add(self, trial: FakeTrial) -> None:
        self.trials.append(trial)
        self.gate.on_trial_add(self, trial)

    def get_trials(self):
        return self.trials

    def step(self) -> FakeTrial | None:
        chosen = self.gate.choose_trial_to_run(self)
        if chosen is not None:
            chosen.status = Trial.RUNNING
        return chosen

    def complete(self, trial: FakeTrial) -> None:
        trial.status = Trial.TERMINATED
        self.gate.on_trial_complete(self, trial, {})


def _trial(trial_id: str, intermediate: str | None = None) -> FakeTrial:
    config = {"learning_rate": 1e-3} | ({"intermediate": intermediate} if intermediate else {})
    return FakeTrial(trial_id=trial_id, status=Trial.PENDING, config=config)


def _inner():
    from ray.tune.schedulers import FIFOScheduler
    return FIFOScheduler()


def test_a_target_trial_waits_for_its_own_intermediate():
    finished: dict[str, str] = {}

    def start_of(name):
        if name in (None, "none"):
            return True, None
        return (True, finished[name]) if name in finished else (False, None)

    gate = StageGate(_inner(), "target-synth_xnli-0")
    with entered("target-synth_xnli-0", 2, GateState(TrialSlots(4), start_of)):
        controller = FakeController(gate, [_trial("nli", "synth_nli"), _trial("none", "none"),
                                           _trial("squad", "synth_squad")])
        assert {trial.status for trial in controller.trials} == {Trial.PAUSED}
        assert controller.step().trial_id == "none"  # the base model: at once
        assert controller.step() is None  # neither intermediate exists yet
        finished["synth_squad"] = "/run/squad/checkpoint_000002"
        started = controller.step()
        assert started.trial_id == "squad"
        assert started.config[START_CHECKPOINT] == "/run/squad/checkpoint_000002"
        assert controller.trials[1].config.get(START_CHECKPOINT) is None
        assert controller.trials[0].status == Trial.PAUSED


def test_stages_share_the_sweep_slots_in_plan_order():
    slots = TrialSlots(2)
    always = GateState(slots, lambda name: (True, None))
    first, second = StageGate(_inner(), "intermediate"), StageGate(_inner(), "target")
    with entered("intermediate", 0, always), entered("target", 1, always):
        target = FakeController(second, [_trial(f"t{i}", "none") for i in range(3)])
        assert target.step() and target.step()  # both slots, while no earlier stage asks
        assert target.step() is None and sum(map(len, slots.held.values())) == 2
        intermediate = FakeController(first, [_trial("i0"), _trial("i1")])
        assert intermediate.step() is None  # no slot free
        target.complete(target.trials[0])
        # The freed slot goes to the earlier stage's ready trial, not to the target's.
        assert target.step() is None
        assert intermediate.step().trial_id == "i0"
        assert sum(map(len, slots.held.values())) == 2
    assert slots.held == {} and slots.ready == {}  # both stages gave their slots back


def test_a_restarted_trial_keeps_its_place_and_outside_a_sweep_the_gate_stands_aside():
    slots = TrialSlots(1)
    gate = StageGate(_inner(), "intermediate")
    with entered("intermediate", 0, GateState(slots, lambda name: (True, None))):
        controller = FakeController(gate, [_trial("i0")])
        trial = controller.step()
        trial.status = Trial.ERROR  # Tune restarts it: stopped, PENDING, added again
        gate.on_trial_error(controller, trial)
        trial.status = Trial.PENDING
        gate.on_trial_add(controller, trial)
        assert trial.status == Trial.PENDING
        assert slots.held["intermediate"] == {"i0"}  # its slot, kept for it
        # A trial that fails for good frees its slot and is not taken for a restart.
        trial.status = Trial.RUNNING
        gate.on_trial_error(controller, trial)
        assert slots.held["intermediate"] == set() and not gate._requeued
    outside = FakeController(StageGate(_inner(), "elsewhere"), [_trial("x")])
    assert outside.trials[0].status == Trial.PENDING
    assert outside.step().trial_id == "x"


def test_concurrent_stages_lose_no_manifest_update(tmp_path):
    manifest = Manifest.open(tmp_path, "concurrent", resume=False)

    def record(worker: int) -> None:
        for index in range(25):
            manifest.record(f"stage-{worker}-{index}", {"status": "finished"})

    threads = [threading.Thread(target=record, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(Manifest.read(tmp_path).stages) == 8 * 25


def test_grid_and_random_trial_ids_are_unique_across_stages_made_at_once():
    from ray.tune.search import BasicVariantGenerator

    from sweep.stages.training import _unique_trial_ids

    made = [_unique_trial_ids(None, 2), _unique_trial_ids(BasicVariantGenerator(), 2)]
    assert all(isinstance(search, BasicVariantGenerator) and search.max_concurrent == 2
               for search in made)
    assert made[0]._uuid_prefix != made[1]._uuid_prefix
