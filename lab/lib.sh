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

# The image tag carries a hash of its recipe so that a changed package list rebuilds it.
lab_image_packages="python3,python3-apt,iproute2,openvpn,openssl,nftables,iperf3,procps,systemd,systemd-sysv,dbus,ca-certificates,iputils-ping"
lab_image_tag() {
    local digest
    digest="$(printf '%s\n%s\n' "$lab_image_packages" "$(cat "$LAB_ROOT/lab/build-image")" | sha256sum | cut -c1-12)"
    echo "localhost/bonded-openvpn-lab:$digest"
}
LAB_IMAGE="${LAB_IMAGE:-$(lab_image_tag)}"
export LAB_IMAGE
