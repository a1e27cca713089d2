"""Topology as code: render Jinja2 templates, build the ref() DAG, validate, plan, apply."""
