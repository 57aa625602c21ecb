"""The demo marketplace: a client of the application that drives synthetic orders
through the real commands (``scenario`` runs it, ``market`` draws the sellers,
buyers and orders, ``life`` lives each order's life, ``profile`` holds every
probability)."""
