"""The progress display stays compact in logs: one line per change, at most every interval."""

from __future__ import annotations

import io

from sweep.progress import StageProgress


def test_non_terminal_output_is_throttled():
    stream = io.StringIO()
    progress = StageProgress("target/synth_xnli", total=4, stream=stream, interval=3600)
    progress.running = 2
    progress.show()
    for _ in range(50):  # a flood of events inside one interval prints nothing more
        progress.offer_best(0.5)
        progress.show()
    progress.running, progress.stopped, progress.finished = 0, 1, 3
    progress.offer_best(0.8, " (lr 0.001, from synth_nli)")
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[-1].startswith("[target/synth_xnli] | 0 running | 1 stopped early | 3/4 finished")
    assert "best score 0.8000 (lr 0.001, from synth_nli)" in lines[-1]


def test_unchanged_state_prints_nothing():
    stream = io.StringIO()
    progress = StageProgress("eval/synth_pos", total=2, stream=stream, interval=0)
    progress.show()
    progress.show()
    assert len(stream.getvalue().splitlines()) == 1


def test_the_last_line_counts_trials_restored_as_finished():
    from types import SimpleNamespace

    from sweep.progress import TuneProgress

    def trial(status, evaluations, best):
        return SimpleNamespace(status=status, config={"learning_rate": 1e-3, "epochs": 2},
                               last_result={"evaluations": evaluations, "best_score": best})

    stream = io.StringIO()
    progress = StageProgress("target/synth_xnli", total=3, stream=stream, interval=0)
    callback = TuneProgress(progress, lambda config: 2 * config["epochs"])
    # A restored experiment: these trials ended before the interruption, so no hook saw them.
    callback.on_experiment_end([trial("TERMINATED", 4, 70.0), trial("TERMINATED", 1, 40.0),
                                trial("ERROR", 2, 50.0)])
    progress.close()
    line = stream.getvalue().splitlines()[-1]
    assert "0 running | 1 stopped early | 1/3 finished | 1 failed" in line
    assert "best score 70.0000 (lr 0.001)" in line
