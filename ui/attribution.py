"""Attribution over a time range on the review page (issue 18 point 12, decision W15): what it
would change, in words, before it is recorded."""

from __future__ import annotations

from typing import Any

from ui.common import grade_text, local


def period_effect_text(effect: Any, finding: str, tz: Any) -> str:
    """The assessments a range covers and the grades it changes (``review.PeriodEffect``)."""
    n = len(effect.covered)
    if n:
        span = local(effect.covered[0], tz) + (f" to {local(effect.covered[-1], tz)}"
                                               if n > 1 else "")
        text = f"Covers {n} assessment{'s' if n != 1 else ''} now ({span})"
    else:
        text = "Covers no assessment yet"
    text += (", and every later one until it is ended, for this finding only: another "
             "finding is never hidden." if effect.open_ended else ".")
    if finding == "fever" and (effect.left_out or effect.open_ended):
        n_out = len(effect.left_out)
        text += (" A fever with low blood pressure or an oxygen need is never covered: it "
                 "may be CRS after all (ASTCT 2019), so it is graded and flagged as usual"
                 + (f" ({n_out} assessment{'s' if n_out != 1 else ''} in the range)"
                    if n_out else "") + ".")
    if not effect.changed:
        return text + f" Attributing {finding} changes no grade there: it is not what decides them."
    lines = [f"{local(b.time, tz)}: {grade_text('CRS', a.crs)}, {grade_text('ICANS', a.icans)} "
             f"(now {grade_text('CRS', b.crs)}, {grade_text('ICANS', b.icans)})"
             for b, a in effect.changed[:6]]
    more = len(effect.changed) - len(lines)
    return (text + f" With it, {len(effect.changed)} grade"
            f"{'s change' if len(effect.changed) != 1 else ' changes'}: " + "; ".join(lines)
            + (f"; and {more} more." if more > 0 else "."))
