"""`sweep report` from a storage folder written here in the real layout (rows/, trials/,
curves/, manifest.json): its sections and numbers, its escaping, that it names no other
host, and, in headless Chromium, that it renders with no console error and no request."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp  # with Ray's dashboard (ray[default]); a websocket client for DevTools
import pandas as pd
import pytest
from test_figures import curve_rows, result_rows, trial_rows

from sweep.cli import main
from sweep.comparisons import comparisons
from sweep.costs import stage_costs
from sweep.report import REPORT, load_run, write_report

STARTED = 1_800_000_000.0
STAGES = {
    "intermediate/mnli": {"status": "finished", "kind": "intermediate", "started_at": STARTED,
                          "recorded_at": STARTED + 60, "trials": 2, "stopped_early": 1,
                          "best": {"devices": 2}},
    "target/xnli": {"status": "finished", "kind": "target", "started_at": STARTED + 60,
                    "recorded_at": STARTED + 150, "trials": 2, "stopped_early": 1},
    "eval/xnli": {"status": "finished", "kind": "eval", "started_at": STARTED + 150,
                  "recorded_at": STARTED + 180, "rows": "rows/eval-xnli.parquet"},
    "eval/pawsx": {"status": "finished", "kind": "eval", "recorded_at": STARTED + 200},
    "retrieval/tatoeba": {"status": "running", "kind": "retrieval",
                          "recorded_at": STARTED + 210},
}


def write_run(root: Path, curves: bool = True, experiment: str = "report <test> & run") -> Path:
    """A run's storage folder as the engine writes it."""
    rows = result_rows()
    for folder in ("rows", "trials", "curves"):
        (root / folder).mkdir(parents=True)
    for stage, stage_rows in rows.groupby("stage"):
        stage_rows.to_parquet(root / "rows" / f"{stage.replace('/', '-')}.parquet")
    trials = trial_rows()
    for stage, stage_trials in trials.groupby("stage"):
        stage_trials.to_parquet(root / "trials" / f"{stage.replace('/', '-')}.parquet")
    if curves:
        curve_rows().to_parquet(root / "curves" / "all.parquet")
    manifest = {"experiment": experiment, "created": STARTED - 30,
                "spec": {"name": experiment, "description": "escape <this>",
                         "target_tasks": ["xnli", "pawsx"]},
                "revisions": {"model": "0123abc", "datasets": {"xnli": "4567def"}},
                "stages": STAGES}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_stage_costs_from_the_manifest_trials_and_rows(tmp_path):
    run = load_run(write_run(tmp_path))
    costs = stage_costs(run.manifest["stages"], run.rows, run.trials)
    assert list(costs.index) == ["intermediate/mnli", "target/xnli", "eval/xnli",
                                 "eval/pawsx", "retrieval/tatoeba"]
    assert costs.loc["intermediate/mnli", "wall_seconds"] == 60
    assert costs.loc["target/xnli", "wall_seconds"] == 90
    # No start time recorded, or still running: no elapsed time.
    assert costs[["wall_seconds"]].iloc[3:].isna().all().all()
    # Trials: the sum of their times; training on 2 devices (the manifest's best).
    assert costs.loc["intermediate/mnli", "busy_seconds"] == 40 + 10
    assert costs.loc["intermediate/mnli", "device_hours"] == pytest.approx((32 + 8) * 2 / 3600)
    # Evaluations: one per (checkpoint, language, split), its rows' seconds on one device.
    evaluations = 3 * 3 * 3  # intermediate tasks x seeds x languages
    assert costs.loc["eval/xnli", "busy_seconds"] == pytest.approx(2.0 * evaluations)
    assert costs.loc["eval/xnli", "device_hours"] == pytest.approx(2.0 * evaluations / 3600)
    assert costs.loc["retrieval/tatoeba", "busy_seconds"] == pytest.approx(3.0 * 3 * 2)


def test_the_elapsed_total_counts_overlapping_stages_once():
    from sweep.costs import elapsed_seconds

    stages = {"intermediate/a": {"status": "finished", "started_at": 0.0, "recorded_at": 50.0},
              "target/b": {"status": "finished", "started_at": 0.0, "recorded_at": 80.0},
              "eval/b": {"status": "finished", "started_at": 80.0, "recorded_at": 90.0},
              # after an interruption and --resume: the gap counts for nothing
              "retrieval/c": {"status": "finished", "started_at": 200.0,
                              "recorded_at": 230.0},
              "target/d": {"status": "running", "started_at": 0.0}}
    assert elapsed_seconds(stages) == 90.0 + 30.0
    assert elapsed_seconds({}) != elapsed_seconds({})  # NaN: nothing timed


def test_sweep_results_cost_prints_every_stage_and_the_total(tmp_path, capsys):
    storage = write_run(tmp_path)
    run = load_run(storage)
    costs = stage_costs(run.manifest["stages"], run.rows, run.trials)
    assert main(["results", str(storage), "--cost", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# cost per stage (busy and device time count every trial")
    for stage in costs.index:
        assert f"\n{stage},{costs.loc[stage, 'kind']}," in out
    total = out.strip().splitlines()[-1].split(",")
    # Elapsed: the time any stage ran, here the timed stages one after another.
    assert total[0] == "total" and float(total[3]) == pytest.approx(costs["wall_seconds"].sum())
    assert float(total[4]) == pytest.approx(costs["busy_seconds"].sum())
    assert float(total[5]) == pytest.approx(costs["device_hours"].sum())
    target = tmp_path / "cost.parquet"
    assert main(["results", str(storage), "--cost", "--format", "parquet",
                 "--output", str(target)]) == 0
    assert len(pd.read_parquet(target)) == len(costs) + 1


def test_report_has_every_section_with_its_numbers(tmp_path):
    path = write_report(write_run(tmp_path))
    assert path == tmp_path / REPORT
    page = path.read_text()
    for section in ("run", "transfer", "languages", "retrieval", "cost", "trials"):
        assert f'<section id="{section}">' in page
    # The run: pinned revisions, created time, elapsed time of the timed stages.
    assert "4567def" in page and "datasets.xnli" in page and "0123abc" in page
    assert "2027-01-15 07:59:30 UTC" in page  # created
    assert "180 s (0.05 h)" in page  # the three timed stages
    assert "240 s (0.07 h)" in page  # created to the last stage recorded
    assert "target_tasks:" in page  # the spec as YAML
    # The transfer comparison: mnli's gain of 3 points in both targets, with intervals.
    averages = comparisons(result_rows()).xs("avg", level="language")
    low, high = averages.loc[("xnli", "mnli"), ["low", "high"]]
    assert f"{averages.loc[('xnli', 'mnli'), 'mean']:.2f} [{low:.2f}, {high:.2f}]" in page
    assert "3.00" in page and "-1.50" in page
    for figure in ("gain of each intermediate", "English dev score per trial", "per stage",
                   "xnli: mean per language"):
        assert figure in page
    assert page.count("data:image/svg+xml;base64,") == 6
    assert "XTREME" in page  # xnli and pawsx count in XTREME: their partial score, marked


def test_report_escapes_names_and_names_no_other_host(tmp_path):
    page = write_report(write_run(tmp_path), tmp_path / "out" / "page.html").read_text()
    assert "<test>" not in page and "report &lt;test&gt; &amp; run" in page
    assert "a<b>&c" not in page and "a&lt;b&gt;&amp;c" in page
    assert "escape &lt;this&gt;" in page
    assert not re.search(r"""\b(src|href)\s*=\s*["']?\s*(https?:|//)""", page, re.I)
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "url(" not in page


def test_report_without_curves_says_so(tmp_path):
    page = write_report(write_run(tmp_path, curves=False)).read_text()
    assert "No learning curves" in page
    assert "English dev score per trial" not in page


def test_report_shows_holm_marks_when_p_values_exist(tmp_path, monkeypatch):
    import sweep.report

    def with_p(rows, baseline, predictions):
        table = comparisons(rows, baseline)
        return table.assign(p_holm=[0.01 if intermediate == "mnli" else 0.5
                                    for _, _, intermediate in table.index])

    monkeypatch.setattr(sweep.report, "comparisons", with_p)
    page = write_report(write_run(tmp_path)).read_text()
    assert "p (Holm)" in page
    assert re.search(r"<td>mnli</td>.*?<td>0\.01</td><td>\*</td>", page)
    assert not re.search(r"<td>none</td>[^\n]*<td>\*</td>", page)


def test_report_and_plot_commands(tmp_path, capsys):
    run = write_run(tmp_path / "run")
    assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "r.html")
    assert main(["plot", str(run), "--out", str(tmp_path / "figures"), "--format", "png"]) == 0
    printed = capsys.readouterr().out.split()
    assert len(printed) == 6 and all(path.endswith(".png") for path in printed)
    assert all(Path(path).exists() for path in printed)


def test_missing_run_or_baseline_is_bad_input(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "no sweep results" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "manifest.json").write_text(json.dumps(
        {"experiment": "x", "created": STARTED, "stages": {}}))
    assert main(["plot", str(tmp_path / "empty"), "--out", str(tmp_path / "f")]) == 2
    assert "no result rows" in capsys.readouterr().err
    assert main(["report", str(write_run(tmp_path / "run")), "--compare", "xlm"]) == 2
    assert "--compare xlm" in capsys.readouterr().err


# -- headless Chromium -------------------------------------------------------------------

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no `chromium` on PATH (.ci/run installs Debian's package)")


@dataclass
class Visit:
    """What a page did in the browser: its visible text, console errors (messages,
    uncaught exceptions, failed loads) and every URL it requested but its own."""

    text: str = ""
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


async def _devtools(port: int, url: str, timeout: float) -> Visit:
    visit = Visit()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            page = next(t for t in await response.json() if t["type"] == "page")
        async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as socket:
            ids = iter(range(1, 1_000_000))
            loaded = asyncio.Event()

            def record(message: dict) -> None:
                method, params = message.get("method"), message.get("params", {})
                if method == "Runtime.consoleAPICalled" and params["type"] in ("error",
                                                                                "assert"):
                    visit.errors.append(" ".join(str(a.get("value")) for a in params["args"]))
                elif method == "Runtime.exceptionThrown":
                    visit.errors.append(params["exceptionDetails"]["text"])
                elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                    visit.errors.append(params["entry"]["text"])
                elif method == "Network.requestWillBeSent":
                    requested = params["request"]["url"]
                    if requested != url and not requested.startswith("data:"):
                        visit.requests.append(requested)
                elif method == "Page.loadEventFired":
                    loaded.set()

            async def call(method: str, **params) -> dict:
                number = next(ids)
                await socket.send_json({"id": number, "method": method, "params": params})
                while True:
                    message = await socket.receive_json()
                    if message.get("id") == number:
                        return message.get("result", {})
                    record(message)

            async def until_loaded() -> None:
                while not loaded.is_set():
                    record(await socket.receive_json())

            for domain in ("Runtime", "Log", "Network", "Page"):
                await call(f"{domain}.enable")
            await call("Page.navigate", url=url)
            await asyncio.wait_for(until_loaded(), timeout)
            # Late errors (timers, deferred loads) have a moment to show.
            await asyncio.sleep(0.5)
            result = await call("Runtime.evaluate", expression="document.body.innerText")
            visit.text = result["result"].get("value", "")
    return visit


def browse(page: Path, profile: Path, timeout: float = 60) -> Visit:
    """Open `page` in headless Chromium and watch it through the DevTools protocol."""
    browser = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            assert browser.poll() is None, "chromium exited before it opened DevTools"
            assert time.monotonic() < deadline, "chromium opened no DevTools port"
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        return asyncio.run(_devtools(port, page.resolve().as_uri(), timeout))
    finally:
        browser.terminate()
        browser.wait(timeout=30)


def assert_clean(visit: Visit) -> None:
    assert visit.text.strip(), "the page is blank"
    # Requests first: a failed one also logs an error, which would hide which check caught it.
    assert not visit.requests, f"requests left the page: {visit.requests}"
    assert not visit.errors, f"console errors: {visit.errors}"


@needs_chromium
def test_report_renders_in_chromium_without_errors_or_requests(tmp_path):
    page = write_report(write_run(tmp_path / "run"))
    visit = browse(page, tmp_path / "profile")
    assert_clean(visit)
    assert "report <test> & run" in visit.text and "Transfer" in visit.text


@needs_chromium
@pytest.mark.parametrize("body, problem", [
    ("<p>text</p><script>console.error('deliberate')</script>", "console errors"),
    ("<p>text</p><script>undefined_function()</script>", "console errors"),
    ('<p>text</p><img src="http://example.invalid/x.png" alt="">', "requests left the page"),
    ("", "the page is blank"),
])
def test_the_browser_check_catches_errors_requests_and_blank_pages(tmp_path, body, problem):
    page = tmp_path / "bad.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body>"
                    "</html>")
    with pytest.raises(AssertionError, match=problem):
        assert_clean(browse(page, tmp_path / "profile"))


def test_a_run_of_two_base_models_gets_a_report_each_never_averaged(tmp_path, capsys):
    """Each base model's rows, trials and stages in its own report (`~<model>` stages)."""
    import pandas as pd

    from sweep.cli import main
    from sweep.report import base_model_runs, write_reports

    root = write_run(tmp_path / "run")
    for folder in ("rows", "trials"):
        for file in (root / folder).glob("*.parquet"):
            frame = pd.read_parquet(file)
            file.unlink()
            for model, shift in (("xlmr", 0.0), ("mclip", 10.0)):
                part = frame.assign(stage=frame["stage"] + f"~{model}")
                if folder == "rows":
                    part = part.assign(base_model=model, value=part["value"] + shift)
                part.to_parquet(file.with_name(f"{file.stem}~{model}.parquet"))
    (root / "curves" / "all.parquet").unlink()
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["stages"] = {f"{name}~{model}": entry for name, entry in STAGES.items()
                          for model in ("xlmr", "mclip")}
    (root / "manifest.json").write_text(json.dumps(manifest))
    parts = base_model_runs(load_run(root))
    assert set(parts) == {"xlmr", "mclip"}
    assert set(parts["mclip"].rows["base_model"]) == {"mclip"}
    assert all(name.endswith("~mclip") for name in parts["mclip"].manifest["stages"])
    assert set(parts["mclip"].trials["stage"].str.rsplit("~", n=1).str[1]) == {"mclip"}
    paths = write_reports(root)
    assert [path.name for path in paths] == ["report-mclip.html", "report-xlmr.html"]
    assert "(base model mclip)" in paths[0].read_text()
    assert main(["report", str(root)]) == 0
    assert capsys.readouterr().out.split() == [str(path) for path in paths]


def test_gpu_and_cpu_hours_count_what_each_trial_and_task_held():
    stages = {"intermediate/a": {"status": "finished", "started_at": 0.0, "recorded_at": 9.0,
                                 "best": {"devices": 2}},
              "retrieval/b": {"status": "finished", "started_at": 9.0, "recorded_at": 20.0}}
    trials = pd.DataFrame({"stage": ["intermediate/a"] * 2, "time_total_s": [2000.0] * 2,
                           "train_seconds": [1800.0] * 2})
    # One evaluation (two metrics of it), 360 s.
    rows = pd.DataFrame({"stage": ["retrieval/b"] * 2, "checkpoint_uri": ["x"] * 2,
                         "task": ["t"] * 2, "language": ["de"] * 2, "split": ["test"] * 2,
                         "wall_seconds": [360.0] * 2})
    gpus = {"workers_per_trial": 2, "gpus_per_worker": 0.5, "cpus_per_worker": 4,
            "eval_cpus": 2}
    costs = stage_costs(stages, rows, trials, resources=gpus)
    # 3,600 s of training on 2 workers of half a GPU and 4 CPUs each.
    assert costs.loc["intermediate/a", "gpu_hours"] == pytest.approx(1.0)
    assert costs.loc["intermediate/a", "cpu_hours"] == pytest.approx(8.0)
    # The evaluation task held half a GPU (as a worker does) and its 2 CPUs.
    assert costs.loc["retrieval/b", "gpu_hours"] == pytest.approx(0.05)
    assert costs.loc["retrieval/b", "cpu_hours"] == pytest.approx(0.2)
    cpu_only = stage_costs(stages, rows, trials, resources={**gpus, "gpus_per_worker": 0})
    assert (cpu_only["gpu_hours"] == 0).all()
    assert cpu_only.loc["intermediate/a", "cpu_hours"] == pytest.approx(8.0)
    assert stage_costs(stages, rows, trials)["gpu_hours"].isna().all()  # no resources known
