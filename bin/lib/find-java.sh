# Sourced by bin/jcni and bin/test: finds a JDK 25 or newer and sets JCNI_JAVA_HOME.
# Order: $JAVA_HOME, then the java on PATH, then /usr/lib/jvm/*25* (and any newer JDK there).

jcni_java_feature() { # prints the feature version (25, 26, ...) of the JDK home $1, or nothing
    local home=$1 v=
    [ -x "$home/bin/java" ] || return 0
    if [ -f "$home/release" ]; then
        v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
    fi
    if [ -z "$v" ]; then
        v=$("$home/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
    fi
    printf '%s' "$v"
}

jcni_find_java() {
    local candidates=() home v found=
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    if command -v java >/dev/null 2>&1; then
        home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
        candidates+=("$home")
    fi
    for home in /usr/lib/jvm/*25* /usr/lib/jvm/*; do
        [ -d "$home" ] && candidates+=("$home")
    done
    for home in "${candidates[@]}"; do
        v=$(jcni_java_feature "$home")
        if [ -n "$v" ] && [ "$v" -ge 25 ]; then
            JCNI_JAVA_HOME=$home
            return 0
        fi
        [ -n "$v" ] && found="$found ${home} (Java $v);"
    done
    {
        echo "jcni needs a JDK 25 or newer, and none was found."
        [ -n "$found" ] && echo "Found only:$found"
        echo "Install one (for example Eclipse Temurin 25: package temurin-25-jdk from the Adoptium"
        echo "apt repository, or any OpenJDK 25 build unpacked under /usr/lib/jvm), or point JAVA_HOME at it."
    } >&2
    return 1
}
