"""The program's rules, tiers and point kinds written as phrases in the reader's language."""

from __future__ import annotations

from typing import Any

from jifen.programs.schema import EarningRule, ExpiryPolicy, RuleConditions, TierBenefits
from jifen.web.console.common import Gettext, Names
from jifen.web.labels import N_

TICKET_WORDS = (N_("adult"), N_("child"), N_("student"))
ISSUE_WORDS = (N_("normal"), N_("substitute"), N_("on_board"))
PAYMENT_WORDS = (N_("cash"), N_("points"))
METRICS = (N_("rolling_12m_upgrade_points"), N_("calendar_year_points"))


def _words(_: Gettext, words: tuple[str, ...] | frozenset[str] | list[str]) -> str:
    return ", ".join(_(w) for w in words)


def expiry(_: Gettext, policy: ExpiryPolicy) -> str:
    """When a lot of this kind expires."""
    if policy.months_after_credit is not None:
        return _("{months} months after it is credited").format(months=policy.months_after_credit)
    if policy.end_of_year_after is not None:
        return _("at the end of the year, {years} year(s) after it is credited").format(
            years=policy.end_of_year_after
        )
    return _("never")


def benefits(_: Gettext, given: TierBenefits) -> list[str]:
    """A tier's benefits, one phrase each."""
    phrases = []
    if given.earn_multiplier_percent:
        phrases.append(_("earns {percent}%").format(percent=given.earn_multiplier_percent))
    if given.lounge_passes_per_year:
        phrases.append(_("{n} lounge passes a year").format(n=given.lounge_passes_per_year))
    if given.priority_booking_hours:
        phrases.append(_("books {hours} h early").format(hours=given.priority_booking_hours))
    if given.seat_choice:
        phrases.append(_("seat choice"))
    if given.birthday_gift:
        phrases.append(_("birthday gift"))
    if given.free_shipping:
        phrases.append(_("free shipping"))
    phrases.extend(f"{code}: {value}" for code, value in given.other.items())
    return phrases


def effect(_: Gettext, rule: EarningRule, names: Names) -> str:
    """What the rule credits."""
    e = rule.effect
    kind = names.kind(e.kind)
    if e.rate_per_yuan is not None:
        text = _("{rate} {kind} per yuan of fare").format(rate=e.rate_per_yuan, kind=kind)
    elif e.fixed_points is not None:
        text = _("{points} {kind}").format(points=e.fixed_points, kind=kind)
    elif e.multiplier_percent is not None:
        text = _("tops up the {kind} of other rules to {percent}%").format(
            kind=kind, percent=e.multiplier_percent
        )
    else:
        assert e.event_points is not None  # noqa: S101 - the schema gives exactly one way
        text = _("the {kind} the event reports, {low} to {high}").format(
            kind=kind, low=e.event_points.min_points, high=e.event_points.max_points
        )
    if e.also_credit:
        also = ", ".join(names.kind(k) for k in e.also_credit)
        text += _("; the same again as {kinds}").format(kinds=also)
    return text


def _flags(_: Gettext, c: RuleConditions) -> list[str]:
    pairs: list[tuple[bool | None, str, str]] = [
        (c.real_name, _("real-name tickets"), _("tickets without a real name")),
        (c.train_participating, _("participating trains"), _("non-participating trains")),
        (c.train_international, _("international trains only"), _("not international trains")),
        (c.train_tourist, _("tourist trains only"), _("not tourist trains")),
        (c.birthday_month, _("in the member's birthday month"), _("outside the birthday month")),
    ]
    return [yes if value else no for value, yes, no in pairs if value is not None]


def _ages(_: Gettext, c: RuleConditions) -> list[str]:
    if c.age_min is not None and c.age_max is not None:
        return [_("aged {low} to {high}").format(low=c.age_min, high=c.age_max)]
    if c.age_min is not None:
        return [_("aged {low} or over").format(low=c.age_min)]
    if c.age_max is not None:
        return [_("aged {high} or under").format(high=c.age_max)]
    return []


def conditions(_: Gettext, rule: EarningRule, names: Names) -> list[str]:
    """Every condition of the rule, one phrase each, in the order a reader checks them."""
    c = rule.conditions
    phrases = _flags(_, c) + _ages(_, c)
    lists: list[tuple[Any, str]] = [
        (c.ticket_type_in, _("ticket types: {values}")),
        (c.ticket_type_not_in, _("not for ticket types: {values}")),
        (c.issue_in, _("issued as: {values}")),
        (c.payment_in, _("paid by: {values}")),
        (c.id_type_in, _("ID types: {values}")),
        (c.id_type_not_in, _("not for ID types: {values}")),
        (c.activity_in, _("activities: {values}")),
        (c.segment_in, _("segments: {values}")),
    ]
    phrases += [text.format(values=_words(_, values)) for values, text in lists if values]
    if c.tier_in:
        tiers = ", ".join(names.tier(t) for t in c.tier_in)
        phrases.append(_("tiers: {values}").format(values=tiers))
    if c.from_date:
        phrases.append(_("from {day}").format(day=c.from_date.isoformat()))
    if c.to_date:
        phrases.append(_("until {day}").format(day=c.to_date.isoformat()))
    if c.weekdays:
        days = ", ".join(str(d) for d in c.weekdays)
        phrases.append(_("on weekdays {days} (1 = Monday)").format(days=days))
    if c.hours:
        phrases.append(_("from {start}:00 to {end}:00").format(start=c.hours[0], end=c.hours[1]))
    return phrases


def caps(_: Gettext, rule: EarningRule) -> list[str]:
    """The rule's caps and budget."""
    given = [
        (rule.caps.per_event, _("at most {points} per event")),
        (rule.caps.per_day, _("at most {points} per member per day")),
        (rule.caps.per_month, _("at most {points} per member per month")),
        (rule.budget_points, _("a budget of {points} in all")),
    ]
    return [text.format(points=f"{n:,}") for n, text in given if n]
