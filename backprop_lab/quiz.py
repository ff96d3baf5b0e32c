"""Self-check quizzes for the lessons: a question, a few answers, feedback that explains.

In a lesson::

    from backprop_lab.quiz import Quiz

    Quiz(
        "Why does reverse mode suit a network with one loss and a million weights?",
        ["It needs one backward pass for all weights", "It uses less memory", "It is exact"],
        answer=0,
        explanation="One sweep from the single output reaches every input's gradient.",
    )

Displayed in Jupyter it is a set of radio buttons with a *Check* button; the feedback names
why the chosen answer is right or wrong. ``Quiz.check(index)`` returns the same feedback as text,
so tests need no browser.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets

from .lab import Widget


class Quiz(Widget):
    """One multiple-choice question with an explanation shown after the learner answers."""

    def __init__(
        self,
        question: str,
        options: Sequence[str],
        answer: int,
        explanation: str,
        why_not: dict[int, str] | None = None,
    ) -> None:
        if not 0 <= answer < len(options):
            raise ValueError(f"answer must index one of the {len(options)} options, got {answer}")
        self.question = question
        self.options = list(options)
        self.answer = answer
        self.explanation = explanation
        self.why_not = why_not or {}
        self.choices = widgets.RadioButtons(options=self.options, value=None, layout={"width": "max-content"})
        self.button = widgets.Button(description="Check", button_style="info")
        self.feedback = widgets.HTML()
        self.button.on_click(lambda _: self._show(self.choices.index))

    def check(self, index: int | None) -> str:
        """The feedback for choosing option ``index`` (None: nothing chosen yet)."""
        if index is None:
            return "Pick an answer first."
        if index == self.answer:
            return f"Correct. {self.explanation}"
        reason = self.why_not.get(index, "")
        return f"Not quite. {reason} {self.explanation}".replace("  ", " ").strip()

    def _show(self, index: int | None) -> None:
        text = self.check(index)
        colour = "green" if index == self.answer else "#b00"
        self.feedback.value = f"<span style='color:{colour}'>{text}</span>"

    def widget(self) -> widgets.VBox:
        return widgets.VBox([widgets.HTML(f"<b>{self.question}</b>"), self.choices, self.button, self.feedback])
