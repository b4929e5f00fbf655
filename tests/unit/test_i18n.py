"""Languages: negotiation, the remembered choice, formatting for the reader, messages from Python."""

from __future__ import annotations

from datetime import UTC

from node.core.i18n import N_, Formatter, joined, load_languages, message_from_json, message_json
from node.decisions import ballots
from node.polls import model as polls


def test_accept_language_picks_chinese_for_every_chinese_region_and_falls_back_to_the_default():
    languages = load_languages("en")
    assert languages.negotiate(None, "zh-CN,zh;q=0.9,en;q=0.8").code == "zh_Hans"
    assert languages.negotiate(None, "zh-SG").code == "zh_Hans"
    assert languages.negotiate(None, "fr-FR, de;q=0.5").code == "en"
    assert languages.negotiate(None, "fr, zh;q=0.1").code == "zh_Hans"
    assert languages.negotiate(None, "zh;q=0, en").code == "en"
    assert languages.negotiate(None, None).code == "en"
    assert load_languages("zh_Hans").negotiate(None, "").code == "zh_Hans"


def test_the_cookie_wins_and_an_unknown_one_is_ignored():
    languages = load_languages("en")
    assert languages.negotiate("zh_Hans", "en").code == "zh_Hans"
    assert languages.negotiate("klingon", "zh-CN").code == "zh_Hans"


def test_catalogs_translate_templates_strings_plurals_and_python_messages():
    chinese = load_languages("en").get("zh_Hans")
    assert chinese.tag == "zh-Hans" and chinese.name.startswith("中文")
    assert chinese.gettext("Latest news") == "最新消息"
    assert chinese.ngettext("%(num)s member", "%(num)s members", 3) == "%(num)s 名成员"
    message = N_("the username {username} is taken", username="mei")
    assert message == "the username mei is taken"  # JSON and logs stay English
    assert chinese.gettext(message) == "用户名 mei 已被使用"


def test_dates_and_numbers_are_formatted_for_the_reader():
    english, chinese = Formatter("en", UTC), Formatter("zh_Hans", UTC)
    assert english.date("2026-11-20") == "November 20, 2026"
    assert chinese.date("2026-11-20") == "2026年11月20日"
    assert english.datetime("2026-12-05T10:00:00Z").replace("\u202f", " ") == "Dec 5, 2026, 10:00 AM"
    assert "2026年12月5日" in chinese.datetime("2026-12-05T10:00:00Z")
    assert english.number(12345) == "12,345"
    assert english.percent(66.7) == "66.7%" and english.percent(50.0) == "50%"


def test_a_message_in_a_message_is_translated_and_survives_storage():
    zh = load_languages("en").by_code["zh_Hans"]
    where = N_("question {number}", number=3)
    nested = N_("{where} needs its text in content", where=where)
    assert nested == "question 3 needs its text in content"
    assert zh.gettext(nested) == "第 3 个问题需要在 content 中写明问题内容"
    reasons = joined([N_("the Merkle root does not match the leaves"), "an English detail"])
    assert reasons == "the Merkle root does not match the leaves; an English detail"
    assert zh.gettext(reasons) == "默克尔根与叶子不符; an English detail"
    stored = message_json(N_("its roll was refused here: {reason}", reason=reasons))
    back = message_from_json(stored, "its roll was refused here: ...")
    assert back == "its roll was refused here: the Merkle root does not match the leaves; an English detail"
    assert zh.gettext(back) == "它的名册在此被拒绝：默克尔根与叶子不符; an English detail"
    assert message_json("plain English") is None
    assert message_from_json(None, "plain English") == "plain English"
    assert message_from_json('{"msgid": "{gone} placeholder", "params": {"other": 1}}', "kept") == "kept"


def test_why_a_ballot_is_not_counted_is_said_in_the_readers_language():
    zh = load_languages("en").get("zh_Hans")
    reasons = [
        *polls.MEMBERSHIP_REASONS.values(),
        polls.NOT_ACTIVE,
        polls.AFTER_CLOSE,
        polls.UNKNOWN_OPTION,
        polls.REPEATED_VOTE,
        polls.REPEATED_OPTION,
        ballots.NOT_ON_ROLL,
        ballots.COUNTED_ELSEWHERE,
    ]
    for reason in reasons:
        said = zh.gettext(N_("your vote was not counted: {reason}", reason=reason))
        assert said == "你的投票未被计入：" + zh.gettext(reason) and zh.gettext(reason) != reason, reason
    assert polls.AFTER_CLOSE == "after close"  # the ballots' table, JSON and logs keep the English
