"""The build step pyproject.toml cannot declare: the wheel carries the repo's conf/ as lit_hw/conf/.

conf/ stays at the top of the repo (the single source, edited there and read there by a clone);
lit_hw.config.config_dir finds the packaged copy in an installed wheel. Copying in build_py (rather
than declaring conf/ a package of its own through package-dir) keeps conf/'s config groups from being
listed as Python packages, and puts every .yaml in, new ones included, with no list to keep.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE_CONF = Path(__file__).resolve().parent / "conf"
# what build_py writes into build/lib; emptied first, as setuptools never removes a file from it
BUILT_FOLDERS = ("lit_hw", "hydra_plugins")


class BuildWithConfigs(build_py):
    def run(self):
        if self.editable_mode:  # an editable install reads conf/ in place (lit_hw.config.config_dir)
            super().run()
            return
        for folder in BUILT_FOLDERS:  # a module or config deleted from the source must not reach the wheel
            shutil.rmtree(Path(self.build_lib) / folder, ignore_errors=True)
        super().run()
        shutil.copytree(SOURCE_CONF, self.packaged_conf(), ignore=shutil.ignore_patterns("__pycache__"))

    def packaged_conf(self) -> Path:
        return Path(self.build_lib) / "lit_hw" / "conf"

    def get_outputs(self, include_bytecode=True):
        packaged = [] if self.editable_mode else sorted(p for p in self.packaged_conf().rglob("*") if p.is_file())
        return super().get_outputs(include_bytecode) + [str(p) for p in packaged]


setup(cmdclass={"build_py": BuildWithConfigs})
