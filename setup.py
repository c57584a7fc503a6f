"""Build hook for the optional C accelerator of the results scan.

Everything else is declared in pyproject.toml. The extension is optional: when it
cannot be compiled, novaload falls back to the (slower, equally exact) DuckDB scan.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "novaload.results._k6fast",
            ["novaload/results/_k6fast.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
