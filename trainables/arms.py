"""Target arms: where a target model's training data comes from, and what it is tested on.

One entry per arm. English intermediate training followed by zero-shot transfer is
`zero_shot`; the others fine-tune on target-language data directly (Hu et al. 2020's
translate-train and translate-test, Lauscher et al. 2020's few-shot transfer). An arm reads
the task's target-language data through the registry (`Task.translations`,
`Task.test_translations`, `Task.in_language`); `sources` turns an arm, a task and a language
into the (task, language) pairs each split reads, which the planner writes into the stage and
the training loop loads.

Selection protocol: `en_dev`, the English dev set (true zero-shot), or `target_dev`, the
language's own dev set (in-language arms, which have one; Schmidt et al. 2023 on why
selecting on target-language dev is not zero-shot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the spec's schema reads ARMS without loading the registry
    from trainables.tasks import Task

ZERO_SHOT = "zero_shot"
Sources = list[tuple[str, str]]  # (registry task, language) pairs one split reads


@dataclass(frozen=True)
class Arm:
    name: str
    summary: str
    per_language: bool  # one model per target language, tested on that language only
    data: str | None = None  # the Task field naming its target-language data
    with_english: bool = False  # the English training data as well
    selection: str = "en_dev"  # en_dev | target_dev
    trains: bool = True  # translate-test reuses the zero-shot model
    from_zero_shot: bool = False  # starts from the zero-shot model (few-shot)

    def data_task(self, task: Task) -> Task | None:
        """The registry task holding this arm's target-language data for `task`."""
        from trainables.tasks import get_task

        name = getattr(task, self.data) if self.data else None
        return get_task(name) if name else None

    def languages(self, task: Task) -> tuple[str, ...]:
        """The languages of `task` this arm has data for (English aside for a per-language
        arm: in English every arm is zero-shot's own setting)."""
        if self.data is None:
            return task.languages
        source = self.data_task(task)
        if source is None:
            return ()
        return tuple(language for language in task.languages if language in source.languages
                     and not (self.per_language and language == "en"))


ARMS: dict[str, Arm] = {arm.name: arm for arm in (
    Arm(ZERO_SHOT, "English training data; tested in every language", per_language=False),
    Arm("translate_train", "training data machine-translated into L; tested on L",
        per_language=True, data="translations"),
    Arm("translate_train_all", "English and every translation, one model for all languages",
        per_language=False, data="translations", with_english=True),
    Arm("in_language", "gold training data of L, selected on L's dev set; tested on L",
        per_language=True, data="in_language", selection="target_dev"),
    Arm("few_shot", "the zero-shot model, then k examples of L's gold training data; tested "
        "on L", per_language=True, data="in_language", from_zero_shot=True),
    Arm("translate_test", "the zero-shot model on L's test set translated into English",
        per_language=False, data="test_translations", trains=False),
)}


def english_sources(task: Task, split: str) -> Sources:
    """What an English split of `task` reads: training data from its training sources
    (XNLI <- MNLI; ANLI+ adds MNLI and SNLI), dev data from its dev source where it has no
    dev set of its own (XQuAD <- SQuAD), else its own."""
    if split == "train":
        return [(name, "en") for name in (task.training_task, *task.train_also)]
    if split == "dev" and task.dev_task:
        return [(task.dev_task, "en")]
    return [(task.name, "en")]


def sources(arm: Arm, task: Task, language: str | None) -> dict[str, Sources]:
    """What the arm's model of `task` trains on (`train`), is selected on (`dev`) and, where
    it is not the task's own test set, is tested on (`test`); `language` is the target
    language of a per-language arm (None for the others)."""
    data = arm.data_task(task)
    english = {split: english_sources(task, split) for split in ("train", "dev")}
    if data is None or not arm.trains:  # zero-shot's data (translate-test: its models)
        chosen = english
    elif arm.per_language:
        chosen = {"train": [(data.name, language)],
                  "dev": [(data.name, language)] if arm.selection == "target_dev"
                  else english["dev"]}
    else:  # every language's data in one model (translate-train-all)
        chosen = {"train": (english["train"] if arm.with_english else [])
                  + [(data.name, other) for other in arm.languages(task) if other != "en"],
                  "dev": english["dev"]}
    if data is not None and not arm.trains:
        chosen["test"] = [(data.name, other) for other in arm.languages(task)]
    return chosen
