"""The moderation queue in the Django admin. Every action goes through moderation.services."""

from __future__ import annotations

import base64
import datetime as dt
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from moderation import services
from moderation.models import Ban, ModerationAction, Report, ReportQueue, ReportSnapshot, ReportStatus
from seendr import identity as identities


def _clock(value) -> str:
    """A time of day (UTC) from a unix time or an ISO string; anything else as it is."""
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC).strftime("%H:%M:%S")
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return value
    return ""


def _line(item) -> tuple[str, str, str, str]:
    """(time, speaker, role, text) of one transcript line."""
    if isinstance(item, dict):
        who = str(item.get("name") or item.get("from") or "?")
        role = str(item.get("role") or "")
        when = _clock(item.get("at") or item.get("ts") or item.get("time") or "")
        text = item.get("text")
        if text is None:
            text = item.get("error") or json.dumps(item, ensure_ascii=False)
        return when, who, role, str(text)
    return "", "", "", str(item)


# Labels for the evidence records a moderator reads; other keys are shown under their own name.
_EVIDENCE_SECTIONS = (
    ("reported_account", "Reported account"),
    ("match", "The match"),
    ("live_match", "The match as it was live"),
)


def _value(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if value in (None, ""):
        return "—"
    return str(value)


def _record_html(title: str, record: dict) -> str:
    rows = format_html_join(
        "",
        "<dt>{}</dt><dd>{}</dd>",
        ((key.replace("_", " "), _value(value)) for key, value in record.items()),
    )
    return format_html('<h3 class="evidence-title">{}</h3><dl class="evidence-record">{}</dl>', title, rows)


def _evidence_html(report: Report) -> str:
    """The evidence as a moderator reads it: the chat as lines, each record as labelled fields."""
    evidence = report.evidence or {}
    lines = evidence.get("transcript") or []
    if lines:
        transcript = format_html(
            '<table class="evidence-transcript"><thead><tr><th scope="col">time (UTC)</th>'
            '<th scope="col">who</th><th scope="col">said</th></tr></thead><tbody>{}</tbody></table>',
            format_html_join(
                "",
                '<tr class="{}"><td>{}</td><td><strong>{}</strong> <small>{}</small></td><td>{}</td></tr>',
                ((role or "line", when, who, role, text) for when, who, role, text in map(_line, lines)),
            ),
        )
    elif evidence.get("transcript_pruned_at"):
        pruned = evidence["transcript_pruned_at"]
        transcript = format_html("<p>Chat lines were deleted after the decision ({}).</p>", pruned)
    else:
        transcript = format_html("<p>{}</p>", "No chat lines were held for this match.")
    parts = [transcript]
    for key, title in _EVIDENCE_SECTIONS:
        record = evidence.get(key)
        if isinstance(record, dict) and record:
            parts.append(_record_html(title, record))
    shown = {"transcript", "transcript_pruned_at", *(key for key, _ in _EVIDENCE_SECTIONS)}
    rest = {k: v for k, v in evidence.items() if k not in shown}
    if rest:
        parts.append(_record_html("Other", rest))
    parts.append(
        format_html(
            "<details><summary>{}</summary><pre>{}</pre></details>",
            "Raw evidence (JSON)",
            json.dumps(evidence, indent=2, ensure_ascii=False, default=str),
        )
    )
    return format_html_join("", "{}", ((part,) for part in parts))


def _snapshot_html(report: Report) -> str:
    # Inline (a data: URI, which the admin's CSP allows for images): the still has no URL of its
    # own that could leak, and only a moderator who can open this page ever sees it.
    still = ReportSnapshot.objects.filter(report=report).first()
    if still is None:
        return "No snapshot (only nudity reports from the chat page carry one)."
    return format_html(
        '<img src="data:image/jpeg;base64,{}" width="{}" height="{}" alt="{}" data-testid="report-snapshot">'
        "<br><small>taken by the reporter's browser at {} UTC</small>",
        base64.b64encode(bytes(still.jpeg)).decode("ascii"),
        still.width,
        still.height,
        "Snapshot of the reported person's video",
        f"{still.taken_at:%Y-%m-%d %H:%M:%S}",
    )


def _ban_action(days: int | None):
    label = "forever" if days is None else f"{days} day{'s' if days != 1 else ''}"

    def action(modeladmin, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        banned: set[str] = set()
        for report in queryset:
            if report.reported_identity in banned:
                continue
            services.ban_from_report(report_id=report.pk, moderator=request.user, days=days)
            banned.add(report.reported_identity)
        modeladmin.message_user(
            request, f"Banned {len(banned)} identit{'y' if len(banned) == 1 else 'ies'} ({label})."
        )

    action.__name__ = f"ban_{days or 'forever'}"
    action.short_description = f"Ban the reported person: {label}"
    action.allowed_permissions = ("change",)
    return action


@admin.action(description="Dismiss (no action needed)", permissions=["change"])
def dismiss(modeladmin, request, queryset):
    for report in queryset:
        services.dismiss_report(report_id=report.pk, moderator=request.user)
    modeladmin.message_user(request, f"Dismissed {queryset.count()} report(s).")


@admin.action(description="Warn the reported person", permissions=["change"])
def warn(modeladmin, request, queryset):
    for report in queryset:
        services.warn_from_report(report_id=report.pk, moderator=request.user)
    modeladmin.message_user(request, f"Recorded a warning on {queryset.count()} report(s).")


REPORT_ACTIONS = [dismiss, warn, *(_ban_action(days) for days in (*services.BAN_DAY_CHOICES, None))]

# The buttons on a report's own page: (value, label), each handled by ReportAdmin.decide_view.
DECISIONS = (
    ("dismiss", "Dismiss"),
    ("warn", "Warn"),
    *((f"ban_{days}", f"Ban {days} day{'s' if days != 1 else ''}") for days in services.BAN_DAY_CHOICES),
    ("ban_forever", "Ban forever"),
)


def _decide(report: Report, decision: str, moderator) -> str:
    """Carry out one decision through the services; returns what to tell the moderator."""
    if decision == "dismiss":
        services.dismiss_report(report_id=report.pk, moderator=moderator)
        return "Report dismissed."
    if decision == "warn":
        services.warn_from_report(report_id=report.pk, moderator=moderator)
        return f"Warning recorded for {report.reported_name or report.reported_identity}."
    days = None if decision == "ban_forever" else int(decision.removeprefix("ban_"))
    services.ban_from_report(report_id=report.pk, moderator=moderator, days=days)
    label = "forever" if days is None else f"for {days} day{'s' if days != 1 else ''}"
    return f"Banned {report.reported_name or report.reported_identity} {label}."


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = (
        "created",
        "priority_badge",
        "reason",
        "reported_name",
        "reported_identity",
        "reporter_name",
        "reporter_identity",
        "status",
    )
    list_filter = ("status", "reason", "priority")
    search_fields = (
        "reported_identity",
        "reporter_identity",
        "reported_user__username",
        "reporter_user__username",
        "reported_name",
        "reporter_name",
        "match_id",
    )
    ordering = ("-priority", "-created")
    date_hierarchy = "created"
    actions = REPORT_ACTIONS
    readonly_fields = (
        "match_id",
        "reporter_identity",
        "reporter_user",
        "reporter_name",
        "reported_identity",
        "reported_user",
        "reported_name",
        "reported_ip_hash",
        "reason",
        "note",
        "priority",
        "status",
        "created",
        "resolved_at",
        "resolved_by",
        "record",
        "snapshot_view",
        "evidence_view",
        "history",
    )
    exclude = ("evidence",)
    list_select_related = ("reported_user", "reporter_user")
    change_form_template = "admin/moderation/report_change_form.html"

    class Media:
        css = {"all": ["css/admin_moderation.css"]}

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="{}_{}_decide".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self.get_object(request, object_id)
        context = dict(extra_context or {})
        open_report = report is not None and report.status == ReportStatus.OPEN
        if open_report and self.has_change_permission(request, report):
            context["decisions"] = DECISIONS
            context["decide_url"] = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_decide", args=[report.pk]
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        # Every report, not just this list's: a report decided meanwhile (a double click, a second
        # moderator) is answered "already decided", not "not found".
        report = Report.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if report is None:
            raise Http404("No such report.")
        if not self.has_change_permission(request, report):
            raise PermissionDenied
        decision = request.POST.get("decision", "")
        back = reverse("admin:moderation_report_change", args=[report.pk])
        if decision not in dict(DECISIONS):
            self.message_user(request, "Choose one of the decisions.", messages.ERROR)
            return HttpResponseRedirect(back)
        if report.status != ReportStatus.OPEN:
            decided = f"This report was already decided ({report.get_status_display()})."
            self.message_user(request, decided, messages.WARNING)
            return HttpResponseRedirect(back)
        self.message_user(request, _decide(report, decision, request.user), messages.SUCCESS)
        # Back to the list the moderator came from, where the next open report waits.
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # Reports are evidence; decisions close them instead.

    @admin.display(description="priority", ordering="priority")
    def priority_badge(self, obj: Report) -> str:
        if obj.priority > 0:
            return format_html('<strong class="urgent">{}</strong>', "URGENT")
        return "normal"

    @admin.display(description="evidence")
    def evidence_view(self, obj: Report) -> str:
        return _evidence_html(obj)

    @admin.display(description="snapshot")
    def snapshot_view(self, obj: Report) -> str:
        return _snapshot_html(obj)

    @admin.display(description="about this person")
    def record(self, obj: Report) -> str:
        reports = Report.objects.filter(reported_identity=obj.reported_identity)
        bans = Ban.objects.filter(identity_id=obj.reported_identity)
        return format_html(
            '<a href="{}?q={}">{} report(s)</a> from {} people, <a href="{}?q={}">{} ban(s)</a>',
            reverse("admin:moderation_report_changelist"),
            obj.reported_identity,
            reports.count(),
            reports.values("reporter_identity").distinct().count(),
            reverse("admin:moderation_ban_changelist"),
            obj.reported_identity,
            bans.count(),
        )

    @admin.display(description="decisions")
    def history(self, obj: Report) -> str:
        actions = obj.actions.select_related("moderator").order_by("created")
        if not actions:
            return "none yet"
        return format_html_join(
            "",
            "<div>{} — {} by {}</div>",
            (
                (a.created.strftime("%Y-%m-%d %H:%M"), a.get_kind_display(), a.moderator or "system")
                for a in actions
            ),
        )


@admin.register(ReportQueue)
class ReportQueueAdmin(ReportAdmin):
    list_filter = ("reason", "priority")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=ReportStatus.OPEN)


class BanForm(forms.ModelForm):
    days = forms.TypedChoiceField(
        choices=[("", "forever"), *((d, f"{d} days") for d in services.BAN_DAY_CHOICES)],
        coerce=int,
        empty_value=None,
        required=False,
    )

    class Meta:
        model = Ban
        fields = ("identity_id", "ip_hash", "reason")

    def clean_identity_id(self) -> str:
        value = self.cleaned_data["identity_id"].strip()
        if not identities.is_identity_id(value):
            raise forms.ValidationError("An identity id looks like u123 (account) or g0123abcd... (guest).")
        return value


@admin.action(description="Lift the selected bans now", permissions=["change"])
def lift(modeladmin, request, queryset):
    n = 0
    for row in queryset.filter(lifted_at__isnull=True):
        services.lift_ban(ban_id=row.pk, moderator=request.user)
        n += 1
    modeladmin.message_user(request, f"Lifted {n} ban(s).", messages.SUCCESS)


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "active"), ("ended", "ended or lifted")]

    def queryset(self, request, queryset):
        now = timezone.now()
        active = queryset.filter(lifted_at__isnull=True).exclude(until__lte=now)
        if self.value() == "active":
            return active
        if self.value() == "ended":
            return queryset.exclude(pk__in=active.values("pk"))
        return queryset


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    list_display = ("identity_id", "user", "reason", "until", "created", "created_by", "lifted_at", "active")
    list_filter = (ActiveFilter,)
    search_fields = ("identity_id", "user__username", "ip_hash", "reason")
    actions = [lift]
    list_select_related = ("user", "created_by")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = BanForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [f.name for f in Ban._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="active")
    def active(self, obj: Ban) -> bool:
        return obj.is_active()

    def save_model(self, request, obj, form, change):
        if change:
            return  # Bans are changed by lifting, never edited.
        days = form.cleaned_data.get("days")
        created = services.ban(
            identity_id=obj.identity_id,
            until=None if days is None else timezone.now() + dt.timedelta(days=days),
            reason=obj.reason,
            moderator=request.user,
            ip_hash=obj.ip_hash or None,
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    list_display = ("created", "kind", "target_identity", "moderator", "report", "ban")
    list_filter = ("kind",)
    search_fields = ("target_identity", "moderator__username", "note")
    list_select_related = ("moderator",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
