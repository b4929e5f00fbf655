"""Publishing polls and surveys (client-to-server, and from the pages through ``outbox.service``).

A ``Question`` (bare or in a Create) needs its text (``content``), exactly one of ``oneOf``
(one choice) or ``anyOf`` (several), each a list of 2 to :data:`MAX_OPTIONS` distinct option
names (strings, or objects with a ``name``), and an ``endTime`` in the future. Mastodon
shows at most 4 options of at most 50 characters well; more and longer (up to
:data:`MAX_OPTION_LENGTH`) are allowed, for surveys read on the chapter's pages, but Mastodon
users may see them cut. The node sets ``attributedTo`` (the chapter: votes go to the poll's
author), ``context`` (the survey, or the question itself: some servers, microblog.pub
among them, refuse to vote without one), ``votersCount`` 0 and each option's ``replies``.
``hideResults: true`` keeps the counts at 0 in what is served until the close.

A ``Survey`` (a term of ours, :mod:`node.core.vocabulary`) has a title (``name``), an
introduction (``content``), one ``endTime``, and ``orderedItems``: its questions, in order,
without their own ``endTime``. Each question is published as its own ``Create(Question)``
(so Mastodon members can answer each) to the survey's audience, in the same transaction as
the survey, which is served at its id with ``orderedItems`` = the question ids.

Every refusal is a 400 (an Update's, 422) whose message and hint are :class:`node.core.i18n.Message` s:
a client reads them in English, the pages that publish through this composer (the poll and survey
forms, ``/decisions/new``) in the reader's language.

Options, their order and the kind never change after publishing (Mastodon resets all votes
when they do): ``registry.update_guards`` refuses an Update that tries, with 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from node.core import publish
from node.core.clock import iso, to_epoch
from node.core.db import Connection
from node.core.errors import ApiError
from node.core.i18n import N_, Message
from node.core.registry import Registry
from node.core.sanitize import clean_html
from node.core.vocabulary import context, with_language
from node.polls import model as polls
from outbox import addressing
from outbox.compose import Authoring, Composed, OutboxContext, _addressing, _public_part, create_of

MIN_OPTIONS = 2
MAX_OPTIONS = 20
MAX_OPTION_LENGTH = 200
MAX_SURVEY_QUESTIONS = 50
MASTODON_SHOWS = N_("Mastodon shows at most 4 options of at most 50 characters well")
LIKE_A_MOMENT = N_("like 2030-05-01T18:00:00Z")
NEVER_CHANGES = N_("publish a new Question instead; Mastodon would reset every vote")


@dataclass(frozen=True)
class QuestionSpec:
    content: str
    kind: str
    options: list[str]
    hide_results: bool


def _bad(message: Message, hint: Message | None = None) -> ApiError:
    """A 400 whose message and hint a page shows in the reader's language (a JSON client reads English)."""
    return ApiError(400, message, hint=hint)


def parse_end_time(value, now: datetime, where: str = "endTime") -> datetime:
    if not isinstance(value, str):
        raise _bad(N_("{where} is required: an ISO 8601 date and time", where=where), hint=LIKE_A_MOMENT)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _bad(
            N_("{where} {value} is not an ISO 8601 date and time", where=where, value=repr(value)), hint=LIKE_A_MOMENT
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= now:
        raise _bad(N_("{where} {value} is not in the future", where=where, value=value), hint=N_("choose a later time"))
    return moment


def _option_names(entries, kind: str) -> list[str]:
    if not isinstance(entries, list):
        raise _bad(N_("{kind} must be a list of options", kind=kind))
    names = []
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else entry
        if not isinstance(name, str) or not name.strip():
            raise _bad(N_("every option of {kind} needs a name (a non-empty string)", kind=kind))
        name = name.strip()
        if len(name) > MAX_OPTION_LENGTH:
            raise _bad(
                N_(
                    "option {start}... is longer than {limit} characters",
                    start=repr(name[:40]),
                    limit=MAX_OPTION_LENGTH,
                ),
                hint=MASTODON_SHOWS,
            )
        names.append(name)
    if not MIN_OPTIONS <= len(names) <= MAX_OPTIONS:
        raise _bad(
            N_(
                "a question needs {low} to {high} options, not {count}",
                low=MIN_OPTIONS,
                high=MAX_OPTIONS,
                count=len(names),
            ),
            hint=MASTODON_SHOWS,
        )
    if len(set(names)) != len(names):
        raise _bad(N_("option names must be distinct (a vote names its option)"))
    return names


def parse_question(obj: dict, where: Message | None = None) -> QuestionSpec:
    """A Question's text, kind and options, or a 400 saying what is wrong (``where``: which question)."""
    where = where or N_("the Question")
    kinds = [kind for kind in polls.KINDS if kind in obj]
    if len(kinds) != 1:
        raise _bad(N_("{where} needs exactly one of oneOf (one choice) or anyOf (several choices)", where=where))
    content = obj.get("content", obj.get("name"))
    if not isinstance(content, str) or not content.strip():
        raise _bad(N_("{where} needs its text in content", where=where))
    hide = obj.get("hideResults", False)
    if not isinstance(hide, bool):
        raise _bad(N_("hideResults must be true or false"))
    return QuestionSpec(clean_html(content), kinds[0], _option_names(obj[kinds[0]], kinds[0]), hide)


def question_document(
    ctx: Authoring, spec: QuestionSpec, *, question_id: str, end_time: datetime, addressed: dict, thread: str
) -> dict:
    document = {
        "@context": context(),
        "id": question_id,
        "type": "Question",
        "attributedTo": ctx.actor_id,
        "content": spec.content,
        spec.kind: [
            {"type": "Note", "name": name, "replies": {"type": "Collection", "totalItems": 0}} for name in spec.options
        ],
        "endTime": iso(end_time),
        "votersCount": 0,
        "context": thread,
        "published": iso(ctx.now),
        "url": question_id,
        **_public_part(addressed),
    }
    if spec.hide_results:
        document["hideResults"] = True
    return with_language(document, ctx.config.node.language)


def _question_row(
    ctx: OutboxContext,
    spec: QuestionSpec,
    question_id: str,
    end_time: datetime,
    *,
    survey_id: str | None = None,
    position: int = 0,
):
    async def save(conn: Connection) -> None:
        await polls.insert_question(
            conn,
            question_id=question_id,
            chapter=ctx.username,
            kind=spec.kind,
            options=spec.options,
            end_time=to_epoch(end_time),
            hide_results=spec.hide_results,
            now=to_epoch(ctx.now),
            survey_id=survey_id,
            position=position,
        )

    return save


async def compose_question(ctx: OutboxContext, activity: dict, obj: dict) -> Composed:
    spec = parse_question(obj)
    end_time = parse_end_time(obj.get("endTime"), ctx.now)
    addressed = _addressing(ctx, activity, obj)
    question_id = ctx.urls.new_object_id()
    document = question_document(
        ctx, spec, question_id=question_id, end_time=end_time, addressed=addressed, thread=question_id
    )
    return Composed(
        activity=create_of(ctx, document, addressed),
        new_object=document,
        changes=[_question_row(ctx, spec, question_id, end_time)],
    )


@dataclass(frozen=True)
class SurveySpec:
    title: str
    introduction: str
    end_time: datetime
    hide_results: bool
    questions: list[QuestionSpec]


def parse_survey(obj: dict, now: datetime) -> SurveySpec:
    """A Survey's title, introduction, one closing time and its questions, or a 400 saying what is wrong."""
    title, introduction = obj.get("name"), obj.get("content", "")
    if not isinstance(title, str) or not title.strip():
        raise _bad(N_("a Survey needs a title (name)"))
    if not isinstance(introduction, str):
        raise _bad(N_("a Survey's introduction (content) must be a string"))
    end_time = parse_end_time(obj.get("endTime"), now)
    hide = obj.get("hideResults", False)
    if not isinstance(hide, bool):
        raise _bad(N_("hideResults must be true or false"))
    items = obj.get("orderedItems")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_SURVEY_QUESTIONS:
        raise _bad(N_("a Survey needs orderedItems: 1 to {high} questions", high=MAX_SURVEY_QUESTIONS))
    specs = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or item.get("type", "Question") != "Question":
            raise _bad(N_("item {number} of the Survey must be a Question", number=number))
        if "endTime" in item and item["endTime"] != obj["endTime"]:
            raise _bad(N_("question {number} has its own endTime; a survey has one closing time", number=number))
        spec = parse_question(item, where=N_("question {number}", number=number))
        specs.append(QuestionSpec(spec.content, spec.kind, spec.options, spec.hide_results or hide))
    return SurveySpec(title.strip(), clean_html(introduction), end_time, hide, specs)


def survey_document(ctx: Authoring, spec: SurveySpec, survey_id: str, question_ids: list[str], addressed: dict):
    survey = {
        "@context": context(),
        "id": survey_id,
        "type": "Survey",
        "attributedTo": ctx.actor_id,
        "name": spec.title,
        "content": spec.introduction,
        "endTime": iso(spec.end_time),
        "totalItems": len(spec.questions),
        "orderedItems": question_ids,
        "published": iso(ctx.now),
        "url": survey_id,
        **_public_part(addressed),
    }
    if spec.hide_results:
        survey["hideResults"] = True
    return survey


async def compose_survey(ctx: OutboxContext, activity: dict, obj: dict) -> Composed:
    spec = parse_survey(obj, ctx.now)
    addressed = _addressing(ctx, activity, obj)
    survey_id = ctx.urls.new_object_id()
    question_ids = [ctx.urls.new_object_id() for _ in spec.questions]
    survey = survey_document(ctx, spec, survey_id, question_ids, addressed)
    question_creates = []
    for question, question_id in zip(spec.questions, question_ids, strict=True):
        document = question_document(
            ctx, question, question_id=question_id, end_time=spec.end_time, addressed=addressed, thread=survey_id
        )
        question_creates.append((create_of(ctx, document, addressed), document))
    create_survey = create_of(ctx, survey, addressed)
    # the questions go to the survey's audience: resolved now, before the transaction opens
    recipients = await addressing.resolve(
        create_survey,
        db=ctx.db,
        urls=ctx.urls,
        username=ctx.username,
        remote_actors=ctx.remote_actors,
        audiences=ctx.registry.audiences,
    )

    async def save_survey(conn: Connection) -> None:
        await polls.insert_survey(
            conn,
            survey_id=survey_id,
            chapter=ctx.username,
            title=spec.title,
            introduction=spec.introduction,
            end_time=to_epoch(spec.end_time),
            hide_results=spec.hide_results,
            now=to_epoch(ctx.now),
        )

    async def publish_questions(conn: Connection) -> None:
        for create, document in question_creates:
            await publish.record(
                conn,
                urls=ctx.urls,
                username=ctx.username,
                activity=create,
                inboxes=recipients.inboxes,
                now=to_epoch(ctx.now),
                new_object=document,
            )

    rows = [
        _question_row(ctx, question, question_id, spec.end_time, survey_id=survey_id, position=position)
        for position, (question, question_id) in enumerate(zip(spec.questions, question_ids, strict=True))
    ]
    return Composed(activity=create_survey, new_object=survey, changes=[save_survey, *rows, publish_questions])


# --- what an Update may not change ----------------------------------------------------------


def _options_of(document: dict, kind: str) -> list | None:
    entries = document.get(kind)
    if not isinstance(entries, list):
        return None
    return [entry.get("name") if isinstance(entry, dict) else entry for entry in entries]


def guard_question_update(stored: dict, changes: dict) -> None:
    kind = next(k for k in polls.KINDS if k in stored)
    for other in polls.KINDS:
        if other in changes and other != kind:
            raise ApiError(
                422, N_("a poll's kind never changes after publishing (it stays {kind})", kind=kind), hint=NEVER_CHANGES
            )
    if kind in changes and _options_of(changes, kind) != _options_of(stored, kind):
        raise ApiError(
            422, N_("a poll's options (their text and order) never change after publishing"), hint=NEVER_CHANGES
        )
    if "endTime" in changes and changes["endTime"] != stored.get("endTime"):
        raise ApiError(422, N_("a poll's endTime never changes after publishing"), hint=NEVER_CHANGES)


def guard_survey_update(stored: dict, changes: dict) -> None:
    for name in ("orderedItems", "endTime"):
        if name in changes and changes[name] != stored.get(name):
            raise ApiError(422, N_("a survey's {name} never changes after publishing", name=name), hint=NEVER_CHANGES)


def register(registry: Registry) -> None:
    """Question and Survey composers, and the guards that keep them fixed, in the registry."""
    registry.object_composers.update({"Question": compose_question, "Survey": compose_survey})
    registry.update_guards.update({"Question": guard_question_update, "Survey": guard_survey_update})
