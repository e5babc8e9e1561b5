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


class Terminal(io.StringIO):
    """A stream that says it is a terminal, and the screen its output leaves (the cursor
    moves the board uses: up N lines, carriage return, clear line, clear below)."""

    def isatty(self) -> bool:
        return True

    def screen(self) -> list[str]:
        import re

        lines, row, column = [""], 0, 0
        for token in re.findall(r"\x1b\[(\d*)([AKJ])|(\r)|(\n)|([^\x1b\r\n]+)",
                                self.getvalue()):
            count, code, carriage, newline, text = token
            if code == "A":
                row = max(row - int(count or 1), 0)
            elif code == "K":
                lines[row] = lines[row][:column]
            elif code == "J":
                lines[row] = lines[row][:column]
                del lines[row + 1:]
            elif carriage:
                column = 0
            elif newline:
                row, column = row + 1, 0
                if row == len(lines):
                    lines.append("")
            else:
                lines[row] = lines[row][:column] + text
                column += len(text)
        return [line for line in lines if line]


def test_the_terminal_shows_one_line_per_running_stage():
    from sweep.progress import ProgressBoard

    terminal = Terminal()
    board = ProgressBoard(terminal)
    board.interval = 0  # every change drawn
    stages = [StageProgress(name, total=3, board=board)
              for name in ("intermediate/synth_nli", "target/synth_pos", "eval/synth_pos")]
    board.say("[retrieval/synth_tatoeba] finished earlier, skipped")
    for step in range(3):
        for progress in stages:
            progress.running, progress.finished = 3 - step, step
            progress.show()
    stages[0].running, stages[0].finished = 0, 3
    stages[0].close()
    stages[1].running = 0
    stages[1].show()
    screen = terminal.screen()
    # What stays (the notice, the finished stage's last line), then the live block: one
    # line per running stage, each its latest.
    assert screen[0] == "[retrieval/synth_tatoeba] finished earlier, skipped"
    assert screen[1].startswith("[intermediate/synth_nli] | 0 running | 0 stopped early "
                                "| 3/3 finished")
    assert [line.split(" | ")[:2] for line in screen[2:]] == [
        ["[target/synth_pos]", "0 running"], ["[eval/synth_pos]", "1 running"]]
