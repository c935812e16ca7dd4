"""Lambda entry points, one package per function (see template.yaml)."""
