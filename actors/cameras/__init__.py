"""The cameras: one actor per camera (`camera`) and the registry that starts them.

May import `storage`, the actors' machinery, `data` and the core.
"""
