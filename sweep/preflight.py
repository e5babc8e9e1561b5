"""Pre-flight checks: refuse in seconds what would otherwise leave trials PENDING or fail late.

Run after connecting to Ray and before any trial starts:
  1. a trial (its driver, and its Train workers under the placement strategy) and an
     evaluation task fit on the nodes the cluster has or its autoscaler can start;
  2. the storage location can be written and read from every node;
  3. the base model and the hub datasets resolve, or are in the local cache.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.utils import HfHubHTTPError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from sweep.errors import PreflightError
from sweep.plan import evaluation_languages, make_plan
from sweep.spec import Spec
from trainables.data import local_files
from trainables.images import local_image_files
from trainables.storage import Location, probe_storage
from trainables.tasks import get_task
from trainables.trial import evaluation_resources, in_trial_process, worker_resources

TRIAL_DRIVER = "trial_driver"  # custom resource that caps concurrent trial drivers
PROBE_TIMEOUT_S = 60


@dataclass(frozen=True)
class NodeShape:
    """The resources of one kind of node, and how many of them there are or can be."""

    resources: Mapping[str, float]
    count: int = 1  # nodes of this shape; autoscaled groups count their max_count


def _fits(node: Mapping[str, float], bundle: Mapping[str, float]) -> int:
    """How many copies of `bundle` one node holds."""
    needed = [(node.get(name, 0.0), amount) for name, amount in bundle.items() if amount > 0]
    if not needed:
        return math.inf  # type: ignore[return-value]
    return min(int(have // amount) for have, amount in needed)


def _largest(nodes: Sequence[NodeShape], name: str) -> float:
    return max((node.resources.get(name, 0.0) for node in nodes), default=0.0)


def _shortfalls(
    nodes: Sequence[NodeShape], bundle: Mapping[str, float], what: str, note: str = ""
) -> list[str]:
    """Why no node holds `bundle`: each resource no node has enough of, or, when every
    resource is somewhere but never all on one node, that."""
    short = [f"{what} needs {amount:g} {name}{note}; the largest node has "
             f"{_largest(nodes, name):g}"
             for name, amount in bundle.items() if _largest(nodes, name) < amount]
    wanted = ", ".join(f"{amount:g} {name}" for name, amount in bundle.items() if amount)
    return short or [f"{what} needs {wanted} on one node{note}; no node has all of them"]


def check_placement(spec: Spec, nodes: Sequence[NodeShape]) -> None:
    """Raise PreflightError unless a trial and an evaluation task can be placed on `nodes`."""
    resources = spec.resources
    workers, strategy = resources.workers_per_trial, resources.placement_strategy
    bundle = worker_resources(spec.resources.model_dump())
    problems = []
    # A one-worker trial trains in its own process and needs no driver slot.
    needs_driver = not in_trial_process(spec.resources.model_dump())
    if needs_driver and not any(_fits(node.resources, {TRIAL_DRIVER: 1}) for node in nodes):
        problems.append(f"a trial driver needs 1 {TRIAL_DRIVER}; no node advertises it "
                        f"(start the head with --resources='{{\"{TRIAL_DRIVER}\": N}}')")
    per_node = [(_fits(node.resources, bundle), node.count) for node in nodes]
    if not any(fit for fit, _ in per_node):
        problems += _shortfalls(nodes, bundle, "a Train worker" if needs_driver else "a trial")
    elif strategy == "STRICT_PACK":
        if not any(fit >= workers for fit, _ in per_node):
            whole = {name: amount * workers for name, amount in bundle.items()}
            problems += _shortfalls(nodes, whole, "a trial",
                                    " on one node (resources.placement_strategy: STRICT_PACK)")
    else:
        # STRICT_SPREAD: one worker per node; PACK and SPREAD: any packing.
        held = sum(min(fit, 1 if strategy == "STRICT_SPREAD" else fit) * count
                   for fit, count in per_node)
        if held < workers:
            what = ", ".join(f"{amount:g} {name}" for name, amount in bundle.items() if amount)
            where = " on different nodes" if strategy == "STRICT_SPREAD" else ""
            problems.append(f"a trial needs {workers} Train workers of {what}{where}; "
                            f"the cluster's nodes hold {held}")
    evaluation = evaluation_resources(resources.model_dump())
    if not any(_fits(node.resources, evaluation) for node in nodes):
        problems += _shortfalls(nodes, evaluation, "an evaluation task", " (resources.eval_cpus)")
    if problems:
        raise PreflightError(
            "a trial cannot be placed on this cluster: " + "; ".join(problems) + ". Lower "
            "resources (workers_per_trial, cpus_per_worker, gpus_per_worker, eval_cpus) or add "
            "nodes that have them"
        )


def cluster_nodes() -> list[NodeShape]:
    """The alive nodes, and the node types the autoscaler may start (when there is one)."""
    shapes = [NodeShape(dict(node["Resources"])) for node in ray.nodes() if node["Alive"]]
    try:  # private but stable: what the autoscaler publishes of cluster.yaml's node types
        from ray._private.state import state  # private: imported where a failure is caught

        config = state.get_cluster_config()
    except Exception:  # no autoscaler state (a local cluster): only the alive nodes count
        config = None
    for group in config.node_group_configs if config else []:
        if group.max_count != 0:
            count = 1_000_000 if group.max_count == -1 else group.max_count
            shapes.append(NodeShape(dict(group.resources), count))
    return shapes


def check_storage(root: Location) -> None:
    """Write a probe at `root` from the driver, read it and answer from every alive node."""
    token = uuid.uuid4().hex
    probes = root.join(".preflight", token)
    try:
        probes.join("driver").write_text(token)
    except OSError as error:
        raise PreflightError(f"storage: cannot write to {root}: {error}") from None
    nodes = [node["NodeID"] for node in ray.nodes() if node["Alive"]]
    remote = ray.remote(probe_storage)
    refs = {
        remote.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
            node, soft=False)).remote(probes.uri, token): node for node in nodes
    }
    problems = []
    try:
        ready, not_ready = ray.wait(list(refs), num_returns=len(refs), timeout=PROBE_TIMEOUT_S)
        problems += [f"node {refs[ref][:12]} did not answer in {PROBE_TIMEOUT_S}s"
                     for ref in not_ready]
        for ref in ready:
            try:
                written = ray.get(ref)
                if not probes.join(written).exists():
                    problems.append(f"node {refs[ref][:12]} wrote {written}, which the driver "
                                    "cannot see")
            except Exception as error:  # every node's failure is worth reporting
                problems.append(f"node {refs[ref][:12]}: {error}")
    finally:
        probes.filesystem.delete_dir(probes.path)
    if problems:
        hint = " (a local path is on each node's own disk: use s3://, gs:// or a shared " \
            "file system on a multi-node cluster)" if root.is_local else ""
        raise PreflightError(f"storage: {root} is not readable and writable from every node"
                             f"{hint}: " + "; ".join(problems))


def _data_needs(spec: Spec) -> set[tuple[str, str, str]]:
    """(task, split, language) of every piece of data the plan reads."""
    needs = set()
    trained = [member for name in spec.intermediate_names()
               for member in spec.intermediate_members(name)[0]] + list(spec.target_tasks)
    for name in trained:
        task = get_task(name)
        needs |= {(source, "train", "en") for source in (task.training_task, *task.train_also)}
        needs.add((task.dev_task or task.name, "dev", "en"))
        if task.labels_from_data:  # its label set is read from every split it has
            needs |= {(name, split, language) for split in task.source_splits
                      for language in task.languages}
    for name in spec.target_tasks:
        task = get_task(name)  # a pooled split's candidates come from every language
        needs |= {(name, split, language) for split in spec.evaluation.splits
                  for language in (task.languages if split in task.pooled_splits
                                   else evaluation_languages(spec, name))}
    for name in spec.retrieval_tasks:
        needs |= {(name, split, language) for language in evaluation_languages(spec, name)
                  for split in get_task(name).retrieval_splits}
    for stage in make_plan(spec).stages:  # a target arm's data: translations, gold sets
        arm = stage.config.get("arm") or {}
        needs |= {(source, split, language) for split in ("train", "dev", "test")
                  for source, language in arm.get(split, [])}
    return needs


def check_sources(spec: Spec) -> dict[str, Any]:
    """The hub model and hub datasets resolve (or are cached); local task files exist.

    Returns the commit each hub revision names now: {"model": sha, "datasets": {task: sha}},
    so that a run can pin branches (`main`, `refs/convert/parquet`) for its whole duration.
    """
    problems = []
    commits: dict[str, Any] = {"datasets": {}}
    for index, model in enumerate(spec.models()):
        if model.source != "hub":
            continue
        commit, problem = _hub_commit(model.name, "model", model.revision)
        if problem:
            where = f"model[{index}].name" if spec.base_models else "model.name"
            problems.append(f"{where} {model.name!r}: {problem}")
        if model.architecture and not Path(model.architecture).expanduser().is_dir():
            problem = _hub_commit(model.architecture, "model", model.architecture_revision)[1]
            if problem:
                where = f"model[{index}]" if spec.base_models else "model"
                problems.append(f"{where}.architecture {model.architecture!r}: {problem}")
        if spec.base_models:
            commits.setdefault("base_models", {})[model.label] = commit
        if model == spec.model:
            commits["model"] = commit
    data = spec.data.model_dump()
    resolved: dict[tuple[str, str | None], tuple[str | None, str | None]] = {}
    for name, split, language in sorted(_data_needs(spec)):
        task = get_task(name)
        if task.reads_hub(spec.data.source, language):
            if split not in task.hub.splits and not (task.dev_slice and split == "dev"):
                problems.append(f"task {name!r} has no {split} split on the hub (it has "
                                f"{', '.join(task.hub.splits)}): evaluation.splits")
                continue
            revisions = spec.data.revisions  # a control's: its real task's
            revision = (revisions.get(name) or revisions.get(task.files_of or name)
                        or task.hub.revision)
            if (task.hub.path, revision) not in resolved:
                resolved[task.hub.path, revision] = _hub_commit(task.hub.path, "dataset", revision)
                problem = resolved[task.hub.path, revision][1]
                if problem:
                    problems.append(f"task {name!r} (dataset {task.hub.path!r}): {problem}")
            commits["datasets"][name] = resolved[task.hub.path, revision][0]
        elif spec.data.source != "offline":
            try:
                local_files(data, name, split, language)
            except FileNotFoundError as error:
                problems.append(str(error))
    problems += _image_problems(spec, {name for name, _, _ in _data_needs(spec)})
    if problems:
        raise PreflightError("sources: " + "; ".join(problems))
    return commits


def _image_problems(spec: Spec, tasks: set[str]) -> list[str]:
    """The image vectors of every image-text task the plan reads: the images' folder exists
    where the run precomputes them, else the hub dataset resolves or the local files exist
    (the offline benchmark writes its own)."""
    problems, checked, hub = [], set(), set()
    data = spec.data.model_dump()
    for name in sorted(tasks):
        images = get_task(name).images
        if images is None or images in checked or spec.data.source == "offline":
            continue
        checked.add(images)
        if spec.precompute is not None and images.image_folder:  # made by the run itself
            if not Path(images.encoder).expanduser().is_dir() and images.encoder not in hub:
                hub.add(images.encoder)
                problem = _hub_commit(images.encoder, "model",
                                      spec.precompute.encoder_revision)[1]
                if problem:
                    problems.append(f"precompute: image encoder {images.encoder!r}: {problem}")
            if not data["path"]:
                problems.append(f"task {name!r}: images to embed (precompute) are read under "
                                "data.path, which is not set")
                continue
            folder = Path(data["path"]).expanduser() / images.image_folder
            if not folder.is_dir():
                problems.append(f"task {name!r}: images to embed (precompute): {folder} is "
                                "not a directory")
            continue
        if spec.data.source == "hub" and images.hub:
            problem = _hub_commit(images.hub, "dataset", images.revision)[1]
            if problem:
                problems.append(f"task {name!r} (image embeddings {images.hub!r}): {problem}")
            continue
        try:
            local_image_files(data, images)
        except FileNotFoundError as error:
            problems.append(f"task {name!r}: {error}")
    return problems


def _hub_commit(
    repo_id: str, repo_type: str, revision: str | None
) -> tuple[str | None, str | None]:
    """(the commit sha `revision` names, None), from the local cache or else the hub; or
    (None, why the repo can be neither found in the cache nor reached)."""
    try:
        # A cached snapshot lives in snapshots/<commit sha>/.
        path = snapshot_download(repo_id, repo_type=repo_type, revision=revision,
                                 local_files_only=True)
        return Path(path).name, None
    except Exception:  # not cached: ask the hub
        pass
    try:
        info = HfApi().repo_info(repo_id, repo_type=repo_type, revision=revision, timeout=10)
        return info.sha, None
    except HfHubHTTPError as error:
        return None, f"not found at revision {revision!r} ({str(error).splitlines()[0]})"
    except Exception as error:
        return None, (f"not in the local Hugging Face cache and the hub is not reachable "
                      f"({type(error).__name__}); download it where the hub is reachable, or "
                      "use a local copy (source: local)")


def pin_revisions(spec: Spec, commits: dict[str, Any]) -> Spec:
    """The spec with each hub revision replaced by the commit it named when the run began."""
    model, data = spec.model, spec.data
    if commits.get("model"):
        model = model.model_copy(update={"revision": commits["model"]})
    pinned_models = commits.get("base_models") or {}
    base_models = tuple(
        listed.model_copy(update={"revision": pinned_models[listed.label]})
        if pinned_models.get(listed.label) else listed for listed in spec.base_models)
    pinned = {task: sha for task, sha in commits.get("datasets", {}).items() if sha}
    if pinned:
        data = data.model_copy(update={"revisions": {**data.revisions, **pinned}})
    return spec.model_copy(update={"model": model, "data": data, "base_models": base_models})


def run_preflight(spec: Spec, root: Location) -> dict[str, Any]:
    """Every check, cheapest first; raises PreflightError naming what to fix. Returns the hub
    commits the sources resolve to (see `check_sources`)."""
    check_placement(spec, cluster_nodes())
    commits = check_sources(spec)
    check_storage(root)
    return commits
