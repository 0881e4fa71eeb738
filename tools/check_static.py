"""Project checks the linters do not make: manifests, data files, Odoo 19 view syntax,
the engine's independence from Odoo, and that no code from Odoo itself is committed.

Usage: check_static.py ADDON_DIR [ADDON_DIR ...]; prints each problem, exits 1 if any.
"""
import ast
import csv
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ACCESS_HEADER = ['id', 'name', 'model_id:id', 'group_id:id', 'perm_read', 'perm_write', 'perm_create',
                 'perm_unlink']
VERSION = re.compile(r'^19\.0\.\d+\.\d+\.\d+$')
REQUIRED_KEYS = ('name', 'version', 'license', 'author', 'depends')
ODOO_HEADER = 'Part of Odoo.' + ' See LICENSE file'
ODOO_IMPORT = re.compile(r'^\s*(from|import)\s+odoo\b', re.M)
SKIPPED_DIRS = {'.git', '.venv', '__pycache__', '.hypothesis', 'test_support'}


def addon_files(addon, suffix):
    for path in sorted(addon.rglob(f'*{suffix}')):
        if not SKIPPED_DIRS.intersection(path.relative_to(addon).parts[:-1]):
            yield path


def check_manifest(addon, problems):
    manifest_path = addon / '__manifest__.py'
    try:
        manifest = ast.literal_eval(manifest_path.read_text(encoding='utf-8'))
    except (OSError, ValueError, SyntaxError) as error:
        problems.append(f'{manifest_path}: not a readable manifest ({error})')
        return
    for key in REQUIRED_KEYS:
        if key not in manifest:
            problems.append(f'{manifest_path}: missing key {key!r}')
    if not VERSION.match(str(manifest.get('version', ''))):
        problems.append(f'{manifest_path}: version must look like 19.0.x.y.z')
    if manifest.get('license') != 'LGPL-3':
        problems.append(f'{manifest_path}: license must be LGPL-3')
    listed = manifest.get('data', []) + manifest.get('demo', [])
    for name in listed:
        if not (addon / name).is_file():
            problems.append(f'{manifest_path}: data file {name} does not exist')
    if len(listed) != len(set(listed)):
        problems.append(f'{manifest_path}: a data file is listed twice')
    for path in list(addon_files(addon, '.xml')) + list(addon_files(addon, '.csv')):
        relative = path.relative_to(addon).as_posix()
        if relative.split('/')[0] in ('data', 'security', 'views', 'demo') and relative not in listed:
            problems.append(f'{path}: not listed in the manifest')


def check_xml(addon, problems):
    for path in addon_files(addon, '.xml'):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as error:
            problems.append(f'{path}: invalid XML ({error})')
            continue
        for element in root.iter():
            if element.tag == 'tree':
                problems.append(f'{path}: <tree> is <list> in Odoo 19')
            for attribute in ('attrs', 'states'):
                if attribute in element.attrib:
                    problems.append(f'{path}: {attribute}= was removed in Odoo 17; use invisible=/readonly=')
            if element.tag == 'field' and element.get('name') == 'view_mode' and 'tree' in (element.text or ''):
                problems.append(f'{path}: view_mode "tree" is "list" in Odoo 19')


def check_csv(addon, problems):
    for path in addon_files(addon, '.csv'):
        with path.open(encoding='utf-8', newline='') as handle:
            rows = list(csv.reader(handle))
        if path.name == 'ir.model.access.csv':
            if not rows or rows[0] != ACCESS_HEADER:
                problems.append(f'{path}: header must be {",".join(ACCESS_HEADER)}')
                continue
            ids = [row[0] for row in rows[1:]]
            if len(ids) != len(set(ids)):
                problems.append(f'{path}: duplicate access id')
        width = len(rows[0]) if rows else 0
        for number, row in enumerate(rows[1:], start=2):
            if len(row) != width:
                problems.append(f'{path}:{number}: {len(row)} columns, header has {width}')


def check_engine(addon, problems):
    engine = addon / 'engine'
    if not engine.is_dir():
        return
    for path in engine.rglob('*.py'):
        if ODOO_IMPORT.search(path.read_text(encoding='utf-8')):
            problems.append(f'{path}: the pure engine must not import odoo')


def check_provenance(addon, problems):
    for path in addon_files(addon, '.py'):
        if ODOO_HEADER in path.read_text(encoding='utf-8', errors='replace'):
            problems.append(f"{path}: carries Odoo's own copyright header")
    for forbidden in ('odoo-bin', 'odoo/release.py'):
        if (addon / forbidden).exists():
            problems.append(f'{addon / forbidden}: an Odoo source tree must stay outside the project')


def check_translations(addon, problems):
    """Every translatable text of the Python code is in the addon's .pot, and the .pot
    holds no code text that is gone (the Odoo suite compares the whole file with a
    fresh export)."""
    for pot in sorted((addon / 'i18n').glob('*.pot')):
        in_pot = set()
        for block in pot.read_text(encoding='utf-8').split('\n\n'):
            if '#. odoo-python' in block:
                in_pot.add(_msgid(block))
        in_code = {}
        for path in addon_files(addon, '.py'):
            for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'), str(path))):
                if (isinstance(node, ast.Call) and _called_name(node.func) in ('_', '_lt') and node.args
                        and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                    in_code.setdefault(node.args[0].value, f'{path}:{node.lineno}')
        for text, where in sorted(in_code.items()):
            if text not in in_pot:
                problems.append(f'{where}: {text!r} is not in {pot.name}: export the .pot again')
        for text in sorted(in_pot - set(in_code)):
            problems.append(f'{pot}: {text!r} is no longer in the code: export the .pot again')


def _called_name(func):
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _msgid(block):
    """The msgid of one .po entry, its quoted lines joined."""
    text, reading = [], False
    for line in block.splitlines():
        if line.startswith('msgid '):
            reading, line = True, line[len('msgid '):]
        elif line.startswith('msgstr'):
            break
        if reading:
            text.append(ast.literal_eval(line))
    return ''.join(text)


def main(addons):
    problems = []
    for addon in map(Path, addons):
        for check in (check_manifest, check_xml, check_csv, check_engine, check_provenance, check_translations):
            check(addon, problems)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
