"""Translation of received chat lines on demand, and offline detection of their language.

``services.translate_line`` is the one door: cache, then the configured backend. The backends
are in ``backends``; ``detection`` tells which language a line is written in.
"""
