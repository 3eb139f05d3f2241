"""The smallest python-telegram-bot echo bot, the yardstick of bench/telegram.py.

    python -m bench._echo_bot BASE_URL TOKEN [--tuned]

Run as a module: bench/telegram.py would shadow python-telegram-bot. Without --tuned it
is PTB's echo example as written (one update at a time, the default connection pool);
with --tuned it handles 8 chats side by side over 8 connections, as vertrouwd does.
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def main() -> None:
    base_url, token = sys.argv[1], sys.argv[2]
    builder = Application.builder().token(token).base_url(f"{base_url}/bot").job_queue(None)
    if "--tuned" in sys.argv:
        builder = builder.concurrent_updates(8).connection_pool_size(8)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(timeout=1, allowed_updates=["message"])


if __name__ == "__main__":
    main()
