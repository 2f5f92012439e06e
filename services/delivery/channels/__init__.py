"""Delivery channels, one module each (see ``registry`` for the kind -> sender map)."""
