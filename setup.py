"""Ship the top-level rules/ and migrations/ directories inside the package.

A user who only ran ``pip install sharescan`` must still be able to run ``sharescan init``
(Alembic migrations) and scan with the default rules, so both directories are mapped to
``scanner.rules`` and ``scanner.migrations``; everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

DATA = ["*.yaml", "*.yml", "*.txt", "*.json", "*.toml", "*.md", "*.py", "*.mako", "*.ini", "*.html", "*.j2", "*.csv"]


def _tree(root: str) -> list[str]:
    return [f"**/{pattern}" for pattern in DATA] + DATA


setup(
    packages=find_packages(include=["scanner", "scanner.*"]) + ["scanner.rules", "scanner.migrations"],
    package_dir={"scanner.rules": "rules", "scanner.migrations": "migrations"},
    package_data={
        "scanner": ["py.typed"],
        # every rule's test samples (any format) ship beside the rules: `sharescan rules test` runs from a wheel
        "scanner.rules": [*_tree("rules"), "samples/*"],
        "scanner.migrations": _tree("migrations"),
        "scanner.emulator": _tree("scanner/emulator"),
        "scanner.export": _tree("scanner/export"),
    },
    include_package_data=False,
)
