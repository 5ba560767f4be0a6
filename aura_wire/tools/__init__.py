"""The command line and its engines: ``aura-wire`` (cli), the side-by-side benchmark, frame inspection.

Tools use the library; the library never imports them.
"""
