"""Danger heard in any words: a phrase, and whether the bot takes it as danger.

The phrases are a fixed sample of bench/safety_corpus/ (bench/safety.py scores all of
it); the patterns are the shipped ones in locales/*.toml, unless a test writes its own
the way an admin would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.admin.text_editor import TextEditor
from bot.flows.danger.detector import DangerDetector
from bot.flows.danger.patterns import PatternError
from bot.runtime import Runtime, open_runtime
from bot.texts.catalog import DANGER_PATTERNS_KEY, Catalog, TextsInvalid, load_catalog
from tests.conftest import FakeClock, edit, make_config, run_cli, with_bot_settings

DUTCH_DANGER = [
    "ik wil dood",
    "Ik wil dood.",
    "ik wil er eigenlijk niet meer zijn",
    "ik wil niet meer leven",
    "ik zie het niet meer zitten",
    "ik zie het echt helemaal niet meer zitten",
    "iedereen is beter af zonder mij",
    "ik denk de laatste tijd veel aan zelfmoord",
    "ik ben suïcidaal",
    "ik wil er een eind aan maken",
    "ik hoop dat ik morgen niet meer wakker word",
    "ik heb pillen gespaard om er een eind aan te maken",
    "ik ga mezelf wat aandoen",
    "niemand zou me missen als ik er niet meer ben",
    "ik snij mezelf weer sinds die reorganisatie",
    "ik kras mezelf als het te veel wordt",
    "hij bedreigt me",
    "ik word bedreigd door een collega",
    "hij dreigt me in elkaar te slaan",
    "hij zei ik weet waar je woont en waar je kinderen naar school gaan",
    "ik krijg doodsbedreigingen",
    "hij heeft me in elkaar geslagen",
    "hij greep me bij mijn keel",
    "hij duwde me tegen de muur",
    "ik ben verkracht",
    "hij dwong me tot seks",
    "hij zat aan mijn borsten terwijl ik nee zei",
    "hij volgt me",
    "mijn collega volgt me na het werk naar huis",
    "hij staat steeds voor mijn deur",
    "ik word gestalkt door een oud collega",
    "mijn partner slaat me",
    "ik durf niet naar huis",
    "ik ben bang voor hem",
    "ik ben bang dat hij me iets aandoet",
    "ik voel me niet veilig thuis",
    "ik ben in gevaar",
    "mijn kind is in gevaar",
    "ik vrees voor mijn veiligheid",
]

ENGLISH_DANGER = [
    "I want to die",
    "i just want to die",
    "I don't want to live anymore",
    "i dont wanna be here anymore",
    "im going to kill myself",
    "I've been having suicidal thoughts since the reorganisation",
    "i can't go on",
    "everyone would be better off without me",
    "I just want it all to stop",
    "i wish i was dead",
    "whats the point of living",
    "i want to jump in front of a train",
    "i cut myself again last night",
    "i've been self-harming",
    "he threatens me",
    "i'm being threatened",
    "he threatened to kill me",
    "he said he knows where i live",
    "he showed me a knife and told me to keep quiet",
    "he hit me",
    "he pushed me against the wall",
    "he grabbed me by the throat",
    "i was raped",
    "he touched me against my will",
    "he is stalking me",
    "he follows me home",
    "he waits for me outside my house",
    "my husband hits me",
    "I'm afraid to go home",
    "i don't dare to go home",
    "i'm afraid of him",
    "i'm afraid he will hurt me",
    "i don't feel safe at home",
    "I am in danger",
    "my child is in danger",
    "i fear for my life",
]

# Written the way people write in a hurry: one letter wrong, missing or swapped, letters
# doubled for emphasis, no accents, no capitals or all capitals.
SLOPPY_DANGER = [
    "ik wil er eigenlyk niet meer zijn",
    "ik zie het niet meer ziten",
    "ik denk aan zelfmorod",
    "ik denk aan zelmoord",
    "hij bedrijgt me",
    "hij bedreigd mij",
    "ik wordt gestalkt",
    "mijn partnr slaat me",
    "ik voel me niet veilg",
    "ik ben in gevaa",
    "ik wil dooood",
    "IK BEN IN GEVAAR",
    "i want to dieee",
    "i want too die",
    "i dont wnat to live",
    "i want to kil myself",
    "im thinking about suicde",
    "he threatend me",
    "i am in dnager",
    "im afriad of him",
    "he folows me home",
    "HE HITS ME",
]

# Dutch and English in one message: every language's patterns are heard.
MIXED_DANGER = [
    "hij bedreigt me and i am scared",
    "he hits me en ik durf niet naar huis",
    "i want to die ik kan niet meer",
    "my partner slaat me",
    "ik ben zo bang he follows me home",
]

# Work conflict that shares words with danger: not danger.
DUTCH_NEUTRAL = [
    "ik ben bang dat ik mijn baan verlies",
    "ik ben bang voor de reorganisatie",
    "mijn manager dreigt met een slechte beoordeling",
    "hij dreigde met ontslag",
    "mijn leidinggevende dreigt mij te ontslaan als ik klaag",
    "ik voel me bedreigd in mijn positie door de nieuwe collega",
    "mijn baan is in gevaar door de bezuinigingen",
    "het project is in gevaar",
    "het is niet veilig om kritiek te geven in het team",
    "er heerst een onveilige sfeer in het team",
    "mijn baas maakt me dood met werk",
    "die deadline is mijn dood",
    "ik ben doodmoe",
    "ik lach me dood om die mail",
    "ik word gek van mijn collega",
    "ik zie het niet zitten om met hem samen te werken",
    "ik wil niet meer op deze afdeling werken",
    "mijn collega volgt me nooit op in de vergadering",
    "hij volgt me op instagram en liket alles van mijn werk",
    "hij slaat me over bij de promotie",
    "hij sloeg met zijn vuist op tafel tijdens de vergadering",
    "dit werk maakt me kapot",
    "de sfeer is om te snijden",
    "ik heb mezelf in de vingers gesneden met die afspraak",
    "we hebben een moordende werkdruk",
    "ik wil een einde maken aan dit conflict",
    "het project is dood",
    "ik wil weg bij dit bedrijf",
    "Agressie of geweld",
]

ENGLISH_NEUTRAL = [
    "i'm afraid i'll lose my job",
    "i'm afraid of what happens if i speak up",
    "my manager threatens me with a bad performance review",
    "he threatened to fire me",
    "he threatened me with dismissal",
    "my job is in danger because of the budget cuts",
    "the project is in danger",
    "it's not safe to give criticism in this team",
    "the deadline is killing me",
    "this deadline kills me",
    "killing it at work this week",
    "i'm dying to know what they decided",
    "the project is dead",
    "my boss will kill me if i'm late again lol",
    "i'm going crazy because of my colleague",
    "i can't go on working with him like this, i want a transfer",
    "i just want the bullying to stop",
    "he follows me on linkedin and comments on everything",
    "he hit me with a huge workload",
    "the news hit me hard",
    "they kicked me out of the meeting",
    "i cut myself on the paper cutter lol",
    "the tension is so thick you could cut it with a knife",
    "he abuses his power to give his friends the best projects",
    "i don't feel safe enough to raise this in the team",
    "Aggression or violence",
]

# A plain negation is not danger; a danger phrase that holds a negation is.
NEGATION_PAIRS = [
    ("ik ben niet in gevaar", "ik ben in gevaar"),
    ("I am not in danger", "I am in danger"),
    ("ik voel me niet onveilig", "ik voel me onveilig"),
    ("no one threatened me", "he threatened me"),
    ("niemand heeft me bedreigd", "hij heeft me bedreigd"),
    ("hij heeft me nooit geslagen", "hij heeft me geslagen"),
    ("ik denk niet aan zelfmoord", "ik denk aan zelfmoord"),
    ("i am not suicidal", "i am suicidal"),
    ("ik ben niet bang voor hem", "ik ben bang voor hem"),
    ("i'm not scared to go home", "i'm scared to go home"),
    ("i would never hurt myself", "i want to hurt myself"),
    ("ik wil niet dood hoor", "ik wil dood"),
]
DANGER_WITH_A_NEGATION = [
    "ik wil niet meer leven",
    "I don't want to live",
    "ik zie het niet meer zitten",
    "I can't go on",
    "ik voel me niet veilig",
    "i don't feel safe",
    "ik durf niet naar huis",
    "niemand zou me missen als ik er niet meer ben",
    "he won't let me leave the house",
]


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load_catalog(Path(__file__).resolve().parent.parent / "locales", "nl")


@pytest.fixture(scope="module")
def detector(shipped: Catalog) -> DangerDetector:
    return shipped.danger_detector


@pytest.mark.parametrize(
    "phrase", DUTCH_DANGER + ENGLISH_DANGER + SLOPPY_DANGER + MIXED_DANGER + DANGER_WITH_A_NEGATION
)
def test_danger_is_heard(detector: DangerDetector, phrase: str):
    assert detector.detect(phrase) is not None


@pytest.mark.parametrize("phrase", DUTCH_NEUTRAL + ENGLISH_NEUTRAL)
def test_work_conflict_is_not_taken_for_danger(detector: DangerDetector, phrase: str):
    assert detector.detect(phrase) is None


@pytest.mark.parametrize(("negated", "plain"), NEGATION_PAIRS)
def test_a_plain_negation_is_not_danger_but_the_phrase_without_it_is(
    detector: DangerDetector, negated: str, plain: str
):
    assert detector.detect(negated) is None
    assert detector.detect(plain) is not None


def test_a_work_threat_is_not_danger_but_a_threat_to_life_beside_it_is(detector: DangerDetector):
    assert detector.detect("he threatened to fire me if i quit") is None
    assert detector.detect("hij dreigde met ontslag als ik zou klagen") is None
    assert detector.detect("he threatened to kill me if i quit") is not None
    assert detector.detect("hij dreigde me te vermoorden als ik zou klagen") is not None


def test_words_between_the_parts_of_a_phrase_count_up_to_a_few(detector: DangerDetector):
    assert detector.detect("ik wil dood") is not None
    assert detector.detect("ik wil eigenlijk gewoon echt dood") is not None
    # Far apart, the words no longer make one phrase.
    assert detector.detect("ik wil dat die ene collega van de afdeling dood") is None


def test_the_kind_of_danger_is_named(detector: DangerDetector):
    kinds = {
        "ik wil dood": "suicide",
        "I just want it all to stop": "suicide",
        "ik snij mezelf": "self_harm",
        "he threatens me": "threat",
        "hij sloeg me": "violence",
        "ik ben aangerand": "sexual_violence",
        "mijn partner slaat me": "domestic_violence",
        "he is stalking me": "stalking",
        "ik voel me onveilig": "unsafe",
    }
    assert {phrase: getattr(detector.detect(phrase), "category", None) for phrase in kinds} == (
        kinds
    )


ADMIN_SOURCE = """\
negation: niet geen
# a line of explanation
unsafe: loop gevaar
stalking: hangt rond .. bij mijn huis
threat: =dreigbrief & gekregen
violence: getrapt $
except: loop gevaar te verliezen
"""


def test_an_admins_own_patterns_follow_the_documented_syntax():
    detector = DangerDetector.from_sources({"nl": ADMIN_SOURCE})
    assert detector.detect("ik loop echt gevaar") is not None
    assert detector.detect("ik loop geen gevaar") is None  # a negation in between
    assert detector.detect("ik loop gevaar mijn baan te verliezen") is None  # the exception
    assert detector.detect("hij hangt rond en wacht dan de hele avond bij mijn huis") is not None
    assert detector.detect("hij hangt elke avond tot laat rond bij mijn huis") is None  # 4 between
    assert detector.detect("ik heb een dreigbrief gekregen") is not None
    assert detector.detect("gekregen: een dreigbrief") is not None  # & allows either order
    assert detector.detect("ik heb een dreigbruf gekregen") is None  # = allows no typo
    assert detector.detect("ik ben getrapt") is not None
    assert detector.detect("ik ben getrapt door de directie, figuurlijk") is None  # $: at the end


def test_an_extended_locale_file_takes_effect(locales: Path):
    edit(
        locales / "nl.toml",
        'patterns = """\n',
        'patterns = """\nunsafe: zit ondergedoken\n',
    )
    before = load_catalog(Path(__file__).resolve().parent.parent / "locales", "nl")
    after = load_catalog(locales, "nl")
    assert before.danger_detector.detect("ik zit ondergedoken bij een vriendin") is None
    assert after.danger_detector.detect("ik zit ondergedoken bij een vriendin") is not None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("suicde: wil dood", "unknown category 'suicde'"),
        ("suicide wil dood", "a colon is missing"),
        ("suicide:", "no words after the colon"),
        ("suicide: wil do*od", "'do*od' is not a word"),
        ("suicide: wil .. $", "'..' must stand between two words"),
    ],
)
def test_a_broken_pattern_is_refused_naming_its_line(line: str, problem: str):
    with pytest.raises(PatternError) as error:
        DangerDetector.from_sources({"nl": "negation: niet\n\n" + line})
    assert error.value.line == 3
    assert problem in str(error.value)
    assert str(error.value).startswith("nl: line 3: ")


def test_texts_check_names_file_key_and_line_of_a_broken_pattern(locales: Path):
    path = locales / "en.toml"
    edit(path, "suicide: wanna die\n", "sucide: wanna die\n")
    file_line = path.read_text(encoding="utf-8").splitlines().index("sucide: wanna die") + 1
    result = run_cli(["texts", "check", "--locales", str(locales)])
    assert result.returncode == 1
    assert f"en.toml: {DANGER_PATTERNS_KEY}: pattern line " in result.stderr
    assert f"(line {file_line} of the file): unknown category 'sucide'" in result.stderr
    with pytest.raises(TextsInvalid):
        load_catalog(locales, "nl")


def test_the_shipped_patterns_are_longer_than_a_message_may_be_and_load(shipped: Catalog):
    # The 4096-character limit is for messages; the patterns are not one.
    assert all(len(shipped.locales[lang][DANGER_PATTERNS_KEY]) > 4096 for lang in ("nl", "en"))
    assert shipped.danger_detector.detect("ik wil dood") is not None


@pytest.fixture
async def runtime(tmp_path: Path, locales: Path, clock: FakeClock) -> AsyncIterator[Runtime]:
    config = with_bot_settings(make_config(tmp_path), locales_dir=locales)
    async with open_runtime(config, clock) as running:
        yield running


async def test_patterns_set_from_the_admin_room_are_checked_and_then_heard(runtime: Runtime):
    editor = runtime.editor
    assert isinstance(editor, TextEditor)
    admin = "@beheer:example.org"
    current = runtime.catalog.locales["en"][DANGER_PATTERNS_KEY]
    refused = await editor.set(admin, DANGER_PATTERNS_KEY, "en", current + "dangr: hiding\n")
    assert not refused.ok
    [problem] = refused.problems
    assert problem.file == "en.toml" and problem.key == DANGER_PATTERNS_KEY
    line = len(current.splitlines()) + 1
    assert problem.message.startswith(f"pattern line {line} ")
    assert "unknown category 'dangr'" in problem.message
    assert runtime.catalog.danger_detector.detect("i am hiding from him") is None
    accepted = await editor.set(admin, DANGER_PATTERNS_KEY, "en", current + "unsafe: hiding\n")
    assert accepted.ok, accepted.problems
    assert runtime.catalog.danger_detector.detect("i am hiding from him") is not None
