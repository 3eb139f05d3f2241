"""The ops listener of a running bot: health, readiness and metrics, as a monitor sees them."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import time
from importlib.metadata import version
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import load_config
from bot.flows.answers import CASE_REF_ALPHABET
from bot.runtime import open_runtime
from tests.conftest import Person, make_config, run_cli, write_config
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram import Person as TelegramPerson
from tests.matrix_world import World
from tests.telegram_harness import BotProcess, Chat, telegram_config_file

CANARY = "OcelotCanary3390"
INSTALLED = version("vertrouwd")  # as pyproject.toml says
CASE_REF = re.compile(rf"[{CASE_REF_ALPHABET}]{{4}}-[{CASE_REF_ALPHABET}]{{4}}")


def ops_section(port: int, stuck_minutes: float = 30.0, every_minutes: float = 0.005) -> str:
    """The ops listener on; metrics snapshots every 0.3 s unless a test says otherwise."""
    return (
        f"[ops]\nenabled = true\nport = {port}\nstuck_minutes = {stuck_minutes}\n"
        f"metrics_every_minutes = {every_minutes}\n"
    )


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}") as answer,
    ):
        return answer.status, await answer.text()


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, parsed by prometheus-client's own parser: (name, labels) -> value."""
    status, text = await get(port, "/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape_until(port: int, wanted: tuple[str, tuple], value: float) -> dict:
    """Scrape until a snapshot holds the value wanted (snapshots come every interval)."""
    samples: dict = {}
    for _ in range(200):
        samples = await scrape(port)
        if samples.get(wanted) == value:
            return samples
        await asyncio.sleep(0.05)
    raise AssertionError(f"{wanted} never became {value}: {samples.get(wanted)}")


async def wait_listening(port: int, process: BotProcess) -> None:
    for _ in range(300):
        assert process.process is not None and process.process.returncode is None
        try:
            if (await get(port, "/healthz"))[0] == 200:
                return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the ops listener never answered")


async def test_a_running_bot_counts_what_it_does_and_nothing_about_whom(
    tmp_path: Path, fake: FakeTelegram, locales: Path, unused_tcp_port: int
):
    port = unused_tcp_port
    config = telegram_config_file(tmp_path, fake)
    text = config.read_text().replace(
        "[bot]\n", f'[bot]\nlocales_dir = "{locales}"\ntexts_reload_seconds = 3600\n', 1
    )
    config.write_text(text + '[log]\nformat = "json"\n' + ops_section(port))
    started = time.time()
    bot = BotProcess(config)
    await bot.start()
    await wait_listening(port, bot)
    person = TelegramPerson(7_300_111_222, f"First{CANARY}", language_code="en")
    chat = Chat(fake, bot, person)
    await chat.say("hi")
    for choice in ("intake", "agree", "adviser-a", "no", "bullying"):
        await chat.press(choice)
    await chat.say(f"my manager {CANARY}")
    await chat.say(f"Nick{CANARY}")
    await chat.press("email")
    await chat.say("someone@example.nl")
    await chat.press("message_ok")
    await chat.press("evenings")
    await chat.press("this_week")
    await chat.press("send")
    case_ref = CASE_REF.search(chat.texts()[-1])
    assert case_ref is not None

    async def delivered() -> dict:
        samples = await scrape(port)
        return samples if samples.get(("vertrouwd_handoffs_delivered_total", ())) else {}

    samples: dict = {}
    for _ in range(100):
        if samples := await delivered():
            break
        await asyncio.sleep(0.05)
    assert samples, "the handoff was never counted as delivered"
    assert samples[("vertrouwd_messages_total", (("channel", "telegram"),))] == 14
    assert samples[("vertrouwd_steps_total", (("result", "stored"),))] == 14
    assert samples[("vertrouwd_handoffs_queued_total", ())] == 1
    assert samples[("vertrouwd_handoff_delivery_seconds_count", ())] == 1
    assert samples[("vertrouwd_handoffs_waiting", ())] == 0
    assert samples[("vertrouwd_oldest_waiting_handoff_age_seconds", ())] == 0
    assert samples[("vertrouwd_relays_waiting", ())] == 0
    assert started - 1 <= samples[("vertrouwd_start_time_seconds", ())] <= time.time()
    assert samples[("vertrouwd_build_info", (("version", INSTALLED),))] == 1
    # No label and no value names the person, the case or what they wrote.
    _, exposition = await get(port, "/metrics")
    for secret in (CANARY, str(person.id), case_ref.group(0), "someone@example.nl"):
        assert secret not in exposition

    status, body = await get(port, "/readyz")
    assert status == 200, body
    assert '"telegram": "ok"' in body and '"store": "ok"' in body

    # `systemctl reload` (SIGHUP) reads the edited texts at once.
    with (locales / "en.toml").open("a") as file:
        file.write("\n# edited by the admin\n")
    assert bot.process is not None
    bot.process.send_signal(signal.SIGHUP)
    reloaded = ("vertrouwd_text_reloads_total", (("result", "applied"),))
    for _ in range(100):
        if (await scrape(port)).get(reloaded) == 1:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the reload was not counted")

    await fake.stop()  # Telegram goes away: not ready, and /readyz says why
    status, body = await get(port, "/readyz")
    assert status == 503
    assert '"telegram": "Telegram does not answer' in body and '"store": "ok"' in body
    assert (await get(port, "/healthz"))[0] == 200  # alive all the same
    errors = ("vertrouwd_channel_errors_total", (("channel", "telegram"),))
    for _ in range(100):
        if (await scrape(port)).get(errors, 0) >= 1:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the failed polling was not counted")
    code, logged = await bot.stop()
    assert code == 0, logged
    entries = [json.loads(line) for line in logged.splitlines()]  # log.format = "json"
    assert any(e["message"] == "reload asked: texts changed" for e in entries)
    assert [e["case_ref"] for e in entries if "delivered" in e["message"]] == [case_ref.group(0)]
    for secret in (CANARY, str(person.id), "someone@example.nl", fake.token):
        assert secret not in logged


async def test_a_stuck_handoff_turns_readyz_red_and_green_again_once_delivered(
    world: World, unused_tcp_port: int
):
    from bot.ops.server import ops_listener

    port = unused_tcp_port
    path = world.folder / "config.toml"
    path.write_text(world.config_text() + ops_section(port, stuck_minutes=0.01))

    config = load_config(path, environ={})
    stranger = await world.stranger()
    await world.adviser.client.room_invite(world.room_id, stranger.user_id)
    await stranger.join(world.room_id)
    async with open_runtime(config) as runtime, ops_listener(runtime, [], time.time):
        status, body = await get(port, "/readyz")
        assert status == 200, body
        await Person(runtime, "employee").full_intake(description=f"held {CANARY}")
        await asyncio.sleep(1.0)  # longer than ops.stuck_minutes
        assert await runtime.store.pending_count() == 1
        status, body = await get(port, "/readyz")
        assert status == 503
        assert '"handoffs": "one has waited' in body and "ops.stuck_minutes" in body
        assert '"homeserver": "ok"' in body and '"store": "ok"' in body
        samples = await scrape_until(port, ("vertrouwd_handoffs_waiting", ()), 1)
        for _ in range(100):  # the age grows in whole intervals (0.3 s here)
            if samples[("vertrouwd_oldest_waiting_handoff_age_seconds", ())] >= 0.6:
                break
            await asyncio.sleep(0.05)
            samples = await scrape(port)
        else:
            raise AssertionError("the waiting handoff's age did not grow")
        assert samples[("vertrouwd_handoffs_deferred_total", (("reason", "room-guard"),))] >= 1

        await world.adviser.client.room_kick(world.room_id, stranger.user_id)
        for _ in range(400):
            if await runtime.store.pending_count() == 0:
                break
            await asyncio.sleep(0.05)
        status, body = await get(port, "/readyz")
        assert status == 200, body
        samples = await scrape_until(port, ("vertrouwd_handoffs_delivered_total", ()), 1)
        assert samples[("vertrouwd_handoff_delivery_seconds_count", ())] == 1
        assert samples[("vertrouwd_handoff_delivery_seconds_sum", ())] >= 0.6
    await stranger.close()


async def test_readyz_names_an_unreachable_homeserver(world: World, unused_tcp_port: int):
    from bot.ops.server import ops_listener

    path = world.folder / "config.toml"
    path.write_text(
        world.config_text(homeserver="http://127.0.0.1:9") + ops_section(unused_tcp_port)
    )
    config = load_config(path, environ={})
    async with open_runtime(config) as runtime, ops_listener(runtime, [], time.time):
        status, body = await get(unused_tcp_port, "/readyz")
    assert status == 503
    assert '"homeserver": "unreachable' in body and '"handoffs": "ok"' in body


async def test_metrics_place_a_request_no_closer_than_the_interval(
    tmp_path: Path, unused_tcp_port: int
):
    """A dashboard viewer scraping before and after one person's request sees no change:
    the counts are those of the last whole hour of the clock."""
    from bot.ops.server import ops_listener

    config = make_config(tmp_path, ops_section(unused_tcp_port, every_minutes=60))
    async with open_runtime(config) as runtime, ops_listener(runtime, [], time.time):
        before = await get(unused_tcp_port, "/metrics")
        await Person(runtime, "employee").full_intake(description=f"help {CANARY}")
        after = await get(unused_tcp_port, "/metrics")
        live = runtime.observer.registry  # counted, but shown only at the next whole hour
        assert live.get_sample_value("vertrouwd_handoffs_queued_total") == 1
    assert before == after
    assert before[0] == 200 and "vertrouwd_handoffs_queued_total 0.0" in before[1]


async def test_with_a_token_metrics_answer_only_whoever_shows_it(
    tmp_path: Path, unused_tcp_port: int
):
    from bot.ops.server import ops_listener

    token_file = tmp_path / "metrics.token"
    token_file.write_text("s3cret-for-the-scraper\n")
    token_file.chmod(0o600)
    extra = ops_section(unused_tcp_port) + f'metrics_token_file = "{token_file}"\n'
    config = make_config(tmp_path, extra)
    base = f"http://127.0.0.1:{unused_tcp_port}"
    async with (
        open_runtime(config) as runtime,
        ops_listener(runtime, [], time.time),
        aiohttp.ClientSession() as http,
    ):
        async with http.get(f"{base}/metrics") as refused:
            assert refused.status == 401
            assert refused.headers["WWW-Authenticate"] == "Bearer"
            assert "vertrouwd_" not in await refused.text()
        wrong = {"Authorization": "Bearer s3cret-for-the-scrapeR"}
        async with http.get(f"{base}/metrics", headers=wrong) as refused:
            assert refused.status == 401
        right = {"Authorization": "Bearer s3cret-for-the-scraper"}
        async with http.get(f"{base}/metrics", headers=right) as shown:
            assert shown.status == 200 and "vertrouwd_build_info" in await shown.text()
        async with http.get(f"{base}/healthz") as alive:  # for a load balancer, no token
            assert alive.status == 200


def test_metrics_reachable_from_other_machines_need_a_token(tmp_path: Path):
    config = write_config(tmp_path, '[ops]\nenabled = true\nlisten = "0.0.0.0"\n')
    done = run_cli(["run", "--config", str(config)])
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "vertrouwd: ops.listen: 0.0.0.0 can be reached from other machines, so /metrics needs a"
        " bearer token: set ops.metrics_token_file (or VERTROUWD_METRICS_TOKEN), or listen on"
        ' "127.0.0.1"'
    )
    assert load_config(None, environ={}).ops_section.listen == "127.0.0.1"  # the default


def test_a_taken_ops_port_stops_the_bot_with_one_clear_line(tmp_path: Path):
    import socket

    (tmp_path / "telegram.token").write_text("123456:never-used\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(
            '[bot]\ndata_dir = "data"\n[telegram]\nenabled = true\ntoken_file = "telegram.token"\n'
            'api_base_url = "http://127.0.0.1:9"\n' + ops_section(port)
        )
        done = run_cli(["run", "--config", str(config)])
    assert done.returncode == 2
    assert f"ops.port: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


async def test_the_log_says_a_step_was_stored_but_not_that_danger_was_heard(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Security #17: `description -> urgent_offer` in the log told whoever reads it that
    the person's words sounded like danger. The log now says what an operator needs."""
    from bot.flows.machine import STATES

    caplog.set_level(logging.DEBUG)
    async with open_runtime(make_config(tmp_path)) as runtime:
        person = Person(runtime, "employee")
        await person.until_topic()
        await person.pick("bullying")
        replies = await person.say("I am going to kill myself tonight")
        assert "113" in " ".join(r.text for r in replies)  # danger was heard
        await person.say("/delete")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.engine"]
    assert "step on terminal stored" in lines
    words = {word.strip(",:") for line in lines for word in line.split()}
    assert not words & set(STATES), [line for line in lines if set(line.split()) & set(STATES)]
    assert not any("->" in line or "repl" in line for line in lines)
