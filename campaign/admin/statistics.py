"""A campaign's statistics: signatures over time, by place, confirmation rate."""

from __future__ import annotations

from datetime import UTC, date, datetime

from babel.dates import format_skeleton
from flask import g, render_template
from flask_babel import format_date, format_datetime, format_number, get_locale
from flask_babel import gettext as _

from campaign.admin import bp
from campaign.admin.access import campaign_screen
from campaign.admin.charts import Bar, BarChart, bar_chart
from campaign.extensions import db
from campaign.models import Campaign
from campaign.services import stats
from campaign.services.authz import Action
from campaign.services.countries import country_name

# A campaign older than this gets months and years under its daily chart rather than days.
LONG_LIFE_DAYS = 300


def _skeleton(skeleton: str, moment: date | datetime) -> str:
    """A date in the reader's locale from a CLDR skeleton ("MMMd": "Apr 5", "5 апр.")."""
    return format_skeleton(skeleton, moment, tzinfo=UTC, locale=get_locale())


def daily_chart(series: list[tuple[date, int]]) -> BarChart:
    """The per-day chart, labelled in the reader's language."""
    long_life = len(series) > LONG_LIFE_DAYS
    bars = [
        Bar(
            label=format_date(day, "medium"),
            value=count,
            tick=_skeleton("yMMM" if long_life else "MMMd", day),
        )
        for day, count in series
    ]
    peak = max(bars, key=lambda bar: bar.value, default=None)
    total = sum(bar.value for bar in bars)
    if peak is None or not peak.value:
        description = _("No confirmed signatures yet.")
    else:
        description = _(
            "From %(first)s to %(last)s: %(total)s confirmed signatures, "
            "at most %(peak)s on %(peak_day)s.",
            first=bars[0].label,
            last=bars[-1].label,
            total=format_number(total),
            peak=format_number(peak.value),
            peak_day=peak.label,
        )
    return bar_chart(
        bars,
        chart_id="chart-daily",
        title=_("Confirmed signatures per day"),
        description=description,
        empty_text=_("No confirmed signatures yet."),
        ticks=4 if long_life else 5,
        number=format_number,
    )


def hourly_chart(series: list[tuple[datetime, int]]) -> BarChart:
    """The per-hour chart of the last two days, labelled at midnight (the date) and noon."""
    bars = [
        Bar(
            label=format_datetime(hour, "short"),
            value=count,
            tick=_skeleton("MMMd", hour) if hour.hour == 0 else _skeleton("Hm", hour),
        )
        for hour, count in series
    ]
    ticks = [index for index, (hour, _count) in enumerate(series) if hour.hour in (0, 12)]
    total = sum(bar.value for bar in bars)
    peak = max(bars, key=lambda bar: bar.value, default=None)
    if peak is None or not peak.value:
        description = _("No confirmed signatures in the last 48 hours.")
    else:
        description = _(
            "In the last 48 hours: %(total)s confirmed signatures, at most %(peak)s in the "
            "hour from %(peak_hour)s.",
            total=format_number(total),
            peak=format_number(peak.value),
            peak_hour=peak.label,
        )
    return bar_chart(
        bars,
        chart_id="chart-hourly",
        title=_("Confirmed signatures per hour, last 48 hours"),
        description=description,
        empty_text=_("No confirmed signatures in the last 48 hours."),
        ticks=ticks,
        number=format_number,
    )


@bp.route("/c/<slug>/stats")
@campaign_screen(Action.VIEW_STATS)
def campaign_stats(campaign: Campaign):
    rate = stats.confirmation_rate(db.session, campaign)
    if not rate.total:
        return render_template("admin/statistics/show.html", campaign=campaign, rate=rate)
    countries = [
        (country_name(place.country, g.lang), place.count)
        for place in stats.top_countries(db.session, campaign)
    ]
    cities = [
        (place.city, country_name(place.country, g.lang), place.count)
        for place in stats.top_cities(db.session, campaign)
    ]
    return render_template(
        "admin/statistics/show.html",
        campaign=campaign,
        rate=rate,
        daily=daily_chart(stats.daily_confirmed(db.session, campaign)),
        hourly=hourly_chart(stats.hourly_confirmed(db.session, campaign)),
        countries=countries,
        cities=cities,
        top=stats.TOP_PLACES,
    )
