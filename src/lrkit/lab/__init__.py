"""The lab: real training runs under schedules (data, models, loop, compare, report).

Needs the ``lab`` extra (torch, scikit-learn, mnist1d, matplotlib).
"""
