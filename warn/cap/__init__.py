"""CAP 1.2 (Common Alerting Protocol): the codec shared by what comes in and what goes out.

:mod:`warn.cap.codec` produces the district's warnings as CAP messages, validates them
against the OASIS and Google XSDs (``schema/``, with their provenance) and the district's
rules, and parses incoming CAP safely. The official-warnings source reads with it and the
broadcast step writes with it.
"""
