"""No-show intelligence: the installation's own calibrated no-show risk per upcoming appointment
(features, model, training, scoring, backtest) and the no-show trends.

Its own room because it is a capability of its own with a heavy dependency: scikit-learn is
imported only inside `core.noshow.model`, lazily, so pages that only read the stored scores
(`core.noshow.reads`) never load it. It sits above the other capabilities (it reads the
notifications outbox and the metric definitions); the queue, the export and the pages read its
stored scores from the shared tables (core.base.models.noshow).
"""
