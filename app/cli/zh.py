"""Typer's own words in the help and error panels, in Chinese like the rest of ``voucher``.

Typer reads these module constants each time it draws a panel, so setting them once when
``app.cli`` is imported is enough. The few strings Typer's bundled Click writes itself ("Usage:",
"Show this message and exit.", "Invalid value for …") stay English; what follows them (each
command's help, each usage error's detail) is ours and Chinese.
"""

from __future__ import annotations

from typer import rich_utils

PANEL_TEXT = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
    "DEFAULT_STRING": "[默认: {}]",
    "ENVVAR_STRING": "[环境变量: {}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "DEPRECATED_STRING": "(已弃用) ",
}


def use_chinese_panels() -> None:
    for name, text in PANEL_TEXT.items():
        setattr(rich_utils, name, text)
