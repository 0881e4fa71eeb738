# Shared by tools/run-tests and tools/demo: find an Odoo 19 runtime, reach PostgreSQL,
# and expose this checkout to Odoo as the addon `fusion_billing`.

# Sets odoo_src (the tree with odoo-bin) and odoo_python; returns 1 when no Odoo 19 is found.
# Looks at $ODOO_HOME (python: $ODOO_PYTHON, a venv beside or inside it, or python3),
# then /opt/odoo19/src with /opt/odoo19/venv, then an importable `odoo`.
find_odoo_runtime() {
    odoo_src=""
    odoo_python=""
    if [ -n "${ODOO_HOME:-}" ] && [ -f "$ODOO_HOME/odoo-bin" ]; then
        odoo_src=$ODOO_HOME
        local candidate
        for candidate in "${ODOO_PYTHON:-}" "$ODOO_HOME/../venv/bin/python" "$ODOO_HOME/venv/bin/python" python3; do
            if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
                    && (cd "$ODOO_HOME" && "$candidate" -c "import odoo" >/dev/null 2>&1); then
                odoo_python=$candidate
                break
            fi
        done
    elif [ -f /opt/odoo19/src/odoo-bin ] && [ -x /opt/odoo19/venv/bin/python ]; then
        odoo_src=/opt/odoo19/src
        odoo_python=/opt/odoo19/venv/bin/python
    elif python3 -c "import odoo.release" >/dev/null 2>&1; then
        odoo_python=python3
        odoo_src=$(python3 -c "import os, odoo; print(os.path.dirname(os.path.dirname(odoo.__file__)))")
    fi
    [ -n "$odoo_python" ] || return 1
    local major
    major=$(cd "$odoo_src" && "$odoo_python" -c "import odoo.release as r; print(r.version_info[0])" 2>/dev/null)
    [ "$major" = "19" ]
}

# Runs odoo-bin of the runtime found by find_odoo_runtime.
odoo_bin() {
    if [ -f "$odoo_src/odoo-bin" ]; then
        (cd "$odoo_src" && "$odoo_python" odoo-bin "$@")
    else
        "$odoo_python" -m odoo "$@"
    fi
}

# Starts the local PostgreSQL clusters if the server does not answer, and gives the
# current user a role when running as root. Returns 1 if PostgreSQL stays unreachable.
ensure_postgres() {
    if ! pg_isready -q 2>/dev/null; then
        echo "PostgreSQL is not answering: starting it"
        if command -v pg_lsclusters >/dev/null 2>&1; then
            pg_lsclusters -h 2>/dev/null | awk '$4 != "online" {print $1, $2}' | while read -r version cluster; do
                pg_ctlcluster "$version" "$cluster" start || true
            done
        fi
        local _
        for _ in $(seq 1 30); do pg_isready -q 2>/dev/null && break; sleep 1; done
    fi
    if [ "$(id -u)" = 0 ] && ! psql -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        su postgres -c "createuser --superuser $(id -un)" >/dev/null 2>&1 || true
    fi
    psql -d postgres -Atc 'select 1' >/dev/null 2>&1
}

# Prints an addons path for this checkout: the runtime's addons, a folder where the
# checkout appears as fusion_billing (whatever the clone's folder is called), and the
# test-only stand-in for sale_subscription. Enterprise folders are never put on it.
addons_path_for() {  # addons_path_for <repo> <scratch dir>
    local repo=$1 scratch=$2
    mkdir -p "$scratch/addons"
    ln -sfn "$repo" "$scratch/addons/fusion_billing"
    local path="$scratch/addons,$repo/test_support"
    [ -d "$odoo_src/addons" ] && path="$odoo_src/addons,$path"
    [ -d "$odoo_src/odoo/addons" ] && path="$odoo_src/odoo/addons,$path"
    echo "$path"
}
