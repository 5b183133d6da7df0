#!/usr/bin/env bash
# Builds accessd for installing on a host, in one of two forms.
#
#   scripts/package.sh
#       .build/accessd-VERSION-linux-ARCH.tar.gz: release accessd and accessctl
#       with the Swift runtime linked in (they need only the C library and
#       libstdc++ at run time), the unit files and install.sh. On the host:
#       tar xzf accessd-*.tar.gz && sudo ./accessd-*/install.sh
#
#   scripts/package.sh --deb [--version V] [--binaries DIR] [--out DIR] [--fast] [--only-accessd]
#       Debian packages built with dpkg-deb (packaging/debian says what each
#       holds): accessd_VERSION_ARCH.deb, libaccessd-client0_VERSION_ARCH.deb
#       and libaccessd-client-dev_VERSION_ARCH.deb, in DIR (default .build/deb).
#       On the host: apt-get install ./accessd_*.deb
#       --version: the packages' version (default: accessd --version); the
#         container test builds a second, higher one to upgrade to.
#       --binaries: a directory holding release accessd and accessctl already
#         built (default: build them here).
#       --fast: gzip instead of xz (the tests: about 15 s instead of a few
#         minutes for accessd's 140 MB; the package is about 50 MB, not 35).
#       --only-accessd: not the C library's two packages.
#       Needs dpkg-dev (dpkg-shlibdeps), protobuf-c-compiler and
#       libprotobuf-c-dev (the C client).
#
# Prints the path of each file it made, one a line.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

mode=tarball
version=""
binaries=""
out=".build/deb"
compression=(-Zxz -z6)
only_accessd=no
while [ $# -gt 0 ]; do
    case "$1" in
        --deb) mode=deb; shift ;;
        --version) version="$2"; shift 2 ;;
        --binaries) binaries="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --fast) compression=(-Zgzip -z6); shift ;;
        --only-accessd) only_accessd=yes; shift ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done

if [ -z "$binaries" ]; then
    # -z now: full RELRO (the GOT read-only once loaded), as Debian's hardening asks.
    for product in accessd accessctl; do
        swift build -c release --static-swift-stdlib -Xlinker -z -Xlinker now --product "$product" >&2
    done
    binaries=.build/release
fi
binaries="$(cd "$binaries" && pwd)"
[ -n "$version" ] || version="$("$binaries/accessd" --version)"

if [ "$mode" = tarball ]; then
    name="accessd-$version-linux-$(uname -m)"
    stage=".build/$name"
    rm -rf "$stage"
    mkdir -p "$stage/bin"
    cp "$binaries/accessd" "$binaries/accessctl" "$stage/bin/"
    strip "$stage/bin/accessd" "$stage/bin/accessctl" 2>/dev/null || true
    cp -r scripts/systemd "$stage/systemd"
    cp scripts/install.sh README.md "$stage/"
    tar -C .build -czf ".build/$name.tar.gz" "$name"
    echo ".build/$name.tar.gz"
    exit 0
fi

# ---- Debian packages -------------------------------------------------------
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture; do
    command -v "$tool" >/dev/null || { echo "package.sh --deb: $tool is missing (apt-get install dpkg-dev)" >&2; exit 69; }
done
debian="$root/packaging/debian"
arch="$(dpkg-architecture -qDEB_HOST_ARCH)"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/accessd-deb.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Reproducible: every date and mtime is the last commit's.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
changelog_date="$(date -u -R -d "@$SOURCE_DATE_EPOCH")"

# The Depends of the ELF files given, as dpkg-shlibdeps finds them (it wants
# a debian/control beside it).
shlibdeps() {
    local dir="$work/shlibdeps"
    rm -rf "$dir" && mkdir -p "$dir/debian"
    printf 'Source: accessd\n\nPackage: accessd\nArchitecture: any\n' > "$dir/debian/control"
    (cd "$dir" && dpkg-shlibdeps -O "$@" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

# control file, doc files, md5sums, then dpkg-deb.
finish() {
    local package="$1" stage="$2" depends="$3"
    install -D -m 0644 "$debian/copyright" "$stage/usr/share/doc/$package/copyright"
    sed -e "s|@VERSION@|$version|" -e "s|@DATE@|$changelog_date|" "$debian/changelog.in" \
        | gzip -9n > "$stage/usr/share/doc/$package/changelog.gz"
    chmod 0644 "$stage/usr/share/doc/$package/changelog.gz"
    if [ -f "$debian/$package.lintian-overrides" ]; then
        install -D -m 0644 "$debian/$package.lintian-overrides" "$stage/usr/share/lintian/overrides/$package"
    fi
    mkdir -p "$stage/DEBIAN"
    local size
    size="$(du -sk --apparent-size --exclude=DEBIAN "$stage" | cut -f1)"
    sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" \
        "$debian/$package.control" > "$stage/DEBIAN/control"
    local script
    for script in postinst prerm postrm triggers conffiles shlibs; do
        if [ -f "$debian/$package.$script" ]; then
            sed -e "s|@VERSION@|$version|" "$debian/$package.$script" > "$stage/DEBIAN/$script"
            case "$script" in
                postinst|prerm|postrm) chmod 0755 "$stage/DEBIAN/$script" ;;
                *) chmod 0644 "$stage/DEBIAN/$script" ;;
            esac
        fi
    done
    (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort \
        | xargs -r md5sum > DEBIAN/md5sums)
    chmod 0644 "$stage/DEBIAN/md5sums"
    find "$stage" -depth -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
    local deb="$out/${package}_${version}_${arch}.deb"
    dpkg-deb --root-owner-group "${compression[@]}" --build "$stage" "$deb" >/dev/null
    echo "$deb"
}

# dh_strip's way: symbols and the .comment and .note sections out.
strip_elf() {
    strip --remove-section=.comment --remove-section=.note "$@"
}

# -- accessd
stage="$work/accessd"
install -D -m 0755 "$binaries/accessd" "$stage/usr/bin/accessd"
install -D -m 0755 "$binaries/accessctl" "$stage/usr/bin/accessctl"
strip_elf "$stage/usr/bin/accessd" "$stage/usr/bin/accessctl"
# The units name /usr/local/bin (scripts/install.sh); the package's programs are
# in /usr/bin, and its man page is there for Documentation=.
for unit in accessd.service accessd.socket; do
    sed -e 's|/usr/local/bin/|/usr/bin/|g' -e 's|Installed by scripts/install.sh|Installed by the accessd package|' \
        -e '/^Description=/a Documentation=man:accessd(8)' "scripts/systemd/$unit" > "$work/$unit"
    install -D -m 0644 "$work/$unit" "$stage/lib/systemd/system/$unit"
done
install -D -m 0644 scripts/systemd/accessd.sysusers "$stage/usr/lib/sysusers.d/accessd.conf"
install -D -m 0644 scripts/systemd/accessd.conf "$stage/etc/accessd/accessd.conf"
# An example, not in force: the drop-in for a shared log in PostgreSQL (README "Several hosts").
install -D -m 0644 scripts/systemd/accessd-shared-log.conf "$stage/usr/share/doc/accessd/examples/shared-log.conf"

# Man pages, from the argument parsers: swift-argument-parser's generate-manual
# (the tool its generate-manual plugin runs; the plugin itself would build every
# product of the package in release first), which reads --experimental-dump-help.
swift build --product generate-manual >&2
generate_manual="$(swift build --show-bin-path)/generate-manual"
manual_date="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)"
mkdir -p "$work/man"
"$generate_manual" "$stage/usr/bin/accessd" --section 8 --date "$manual_date" \
    --authors "accessd maintainers" --output-directory "$work/man" >&2
"$generate_manual" "$stage/usr/bin/accessctl" --section 1 --date "$manual_date" \
    --authors "accessd maintainers" --output-directory "$work/man" >&2
# A blank line is no mdoc (groff warns of each): a paragraph break is .Pp.
install -d "$stage/usr/share/man/man8" "$stage/usr/share/man/man1"
sed 's/^$/.Pp/' "$work/man/accessd.8" > "$stage/usr/share/man/man8/accessd.8"
sed 's/^$/.Pp/' "$work/man/accessctl.1" > "$stage/usr/share/man/man1/accessctl.1"
chmod 0644 "$stage/usr/share/man/man8/accessd.8" "$stage/usr/share/man/man1/accessctl.1"
gzip -9n "$stage/usr/share/man/man8/accessd.8" "$stage/usr/share/man/man1/accessctl.1"

# Completions, from the argument parsers, where each shell looks for a package's.
for program in accessd accessctl; do
    install -d "$stage/usr/share/bash-completion/completions" "$stage/usr/share/zsh/vendor-completions" \
        "$stage/usr/share/fish/vendor_completions.d"
    # Sourced, not run: no #! line (lintian's bash-completion-with-hashbang).
    "$stage/usr/bin/$program" --generate-completion-script bash | sed '1{/^#!/d}' \
        > "$stage/usr/share/bash-completion/completions/$program"
    "$stage/usr/bin/$program" --generate-completion-script zsh > "$stage/usr/share/zsh/vendor-completions/_$program"
    "$stage/usr/bin/$program" --generate-completion-script fish > "$stage/usr/share/fish/vendor_completions.d/$program.fish"
done
find "$stage/usr/share/bash-completion" "$stage/usr/share/zsh" "$stage/usr/share/fish" -type f -exec chmod 0644 {} +
install -D -m 0644 README.md "$stage/usr/share/doc/accessd/README.md"
gzip -9n "$stage/usr/share/doc/accessd/README.md"
finish accessd "$stage" "$(shlibdeps "-e$stage/usr/bin/accessd" "-e$stage/usr/bin/accessctl")"

[ "$only_accessd" = no ] || exit 0

# -- the C client: libaccessd-client0 and libaccessd-client-dev
cbuild="$work/c-build"
cinstall="$work/c-install"
# Debian's flags with every hardening feature (bindnow included), as a package build would use them.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
make -s -C clients/c BUILD="$cbuild" \
    CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS) -Wall -Wextra" \
    LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
    PREFIX=/usr LIBDIR="/usr/lib/$multiarch" INCLUDEDIR=/usr/include \
    DESTDIR="$cinstall" install >&2
libdir="$cinstall/usr/lib/$multiarch"
soname="$(objdump -p "$libdir/libaccessd-client.so" | sed -n 's/^ *SONAME *//p')"
[ "$soname" = libaccessd-client.so.0 ] || { echo "package.sh: the C library's SONAME is $soname, not libaccessd-client.so.0: rename libaccessd-client0" >&2; exit 70; }
real="$(readlink "$libdir/$soname")"

stage="$work/libaccessd-client0"
install -D -m 0644 "$libdir/$real" "$stage/usr/lib/$multiarch/$real"
strip_elf --strip-unneeded "$stage/usr/lib/$multiarch/$real"
ln -s "$real" "$stage/usr/lib/$multiarch/$soname"
lib_depends="$(shlibdeps "-e$stage/usr/lib/$multiarch/$real")"
finish libaccessd-client0 "$stage" "$lib_depends"

stage="$work/libaccessd-client-dev"
install -d "$stage/usr/lib/$multiarch/pkgconfig" "$stage/usr/include"
cp -r "$cinstall/usr/include/accessd" "$stage/usr/include/"
find "$stage/usr/include" -type f -exec chmod 0644 {} +
install -m 0644 "$libdir/libaccessd-client.a" "$stage/usr/lib/$multiarch/"
strip --strip-debug --remove-section=.comment --remove-section=.note --enable-deterministic-archives \
    "$stage/usr/lib/$multiarch/libaccessd-client.a"
ln -s "$soname" "$stage/usr/lib/$multiarch/libaccessd-client.so"
install -m 0644 "$libdir/pkgconfig/accessd-client.pc" "$stage/usr/lib/$multiarch/pkgconfig/"
finish libaccessd-client-dev "$stage" ""
