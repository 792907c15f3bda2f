# shellcheck shell=bash
# Shared settings for the container lab; sourced by the lab scripts and the Makefile.
# Podman on this kind of host needs explicit ulimits (root lacks CAP_SYS_RESOURCE, so the
# runtime's default RLIMIT_NOFILE is refused) and runc (crun rejects hybrid cgroups).

LAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_CACHE="${LAB_CACHE:-$LAB_ROOT/.cache/lab}"
LAB_NETWORK_PREFIX="${LAB_NETWORK_PREFIX:-bonded-lab}"
mkdir -p "$LAB_CACHE"
export LAB_ROOT LAB_CACHE

lab_write_containers_conf() {
    local nofile nproc
    nofile="$(ulimit -Hn)"
    nproc="$(ulimit -Hu)"
    [ "$nofile" = unlimited ] && nofile=1048576
    if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
    cat > "$LAB_CACHE/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
[engine]
runtime = "runc"
CONF
    export CONTAINERS_CONF="$LAB_CACHE/containers.conf"
}

lab_write_containers_conf

# Image flavours, each tagged with a hash of its recipe (suite, packages, this script and
# build-image) so that a changed recipe rebuilds it. "lab" is pre-baked with everything the
# roles install (fast scenarios); the bare ones hold what a minimal Debian host has (python3,
# systemd, apt) so that the install role's real install path runs. iputils-ping is there
# only for the verifiers: no role uses it.
lab_image_packages="python3,python3-apt,iproute2,openvpn,openssl,nftables,iperf3,procps,systemd,systemd-sysv,dbus,ca-certificates,iputils-ping"
lab_bare_packages="python3,systemd,systemd-sysv,dbus,iputils-ping"
export LAB_FLAVOURS="lab bare-bookworm bare-trixie"

lab_flavour_suite() {
    case "$1" in
        lab|bare-bookworm) echo bookworm ;;
        bare-trixie) echo trixie ;;
        *) echo "unknown lab image flavour $1" >&2; return 1 ;;
    esac
}

lab_flavour_packages() {
    case "$1" in
        lab) echo "$lab_image_packages" ;;
        *) echo "$lab_bare_packages" ;;
    esac
}

lab_flavour_tag() {
    local flavour="$1" digest repo
    digest="$(printf '%s\n%s\n%s\n' "$(lab_flavour_suite "$flavour")" "$(lab_flavour_packages "$flavour")" \
        "$(cat "$LAB_ROOT/lab/build-image")" | sha256sum | cut -c1-12)"
    repo="localhost/bonded-openvpn-lab"
    [ "$flavour" = lab ] || repo="$repo-$flavour"
    echo "$repo:$digest"
}

lab_image_tag() { lab_flavour_tag lab; }

LAB_IMAGE="${LAB_IMAGE:-$(lab_flavour_tag lab)}"
LAB_IMAGE_BARE_BOOKWORM="${LAB_IMAGE_BARE_BOOKWORM:-$(lab_flavour_tag bare-bookworm)}"
LAB_IMAGE_BARE_TRIXIE="${LAB_IMAGE_BARE_TRIXIE:-$(lab_flavour_tag bare-trixie)}"
export LAB_IMAGE LAB_IMAGE_BARE_BOOKWORM LAB_IMAGE_BARE_TRIXIE
