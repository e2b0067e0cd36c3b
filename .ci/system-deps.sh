#!/usr/bin/env bash
# Debian programs the tests (and `make train-data`) drive for real. Installs only what is missing (CI runs as root).
set -euo pipefail
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v mscore3 >/dev/null || need+=(musescore3)
command -v chromium >/dev/null || need+=(chromium)
command -v shellcheck >/dev/null || need+=(shellcheck)
# The training-data engine renders the MIT-licensed General MIDI kits and accompaniment with FluidSynth.
command -v fluidsynth >/dev/null || need+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
# `make eval-notation` plays its test pieces on MuseScore General's drum presets (MIT: FluidR3's samples)
# and on avldrums' two recorded kits (CC BY-SA: evaluation only, never trained on).
[ -f /usr/share/sounds/sf3/MuseScore_General_Full.sf3 ] || need+=(musescore-general-soundfont)
[ -f /usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2 ] || need+=(avldrums.lv2-soundfont)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: please install: ${need[*]} (sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo "system-deps: installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
