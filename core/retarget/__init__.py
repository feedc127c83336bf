"""Mapping core motion onto rigs (pure numpy; the Blender glue lives in blender_addon)."""
