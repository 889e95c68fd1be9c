"""Labelled data and what is learnt from it: the public datasets, review and imported
samples, weak rules, classifier heads, training a challenger, and rubric backtests.

Nothing in the scoring path imports this package; it reads and writes models only through
the registry in ``pipeline.models``.
"""
