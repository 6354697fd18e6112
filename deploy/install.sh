#!/usr/bin/env bash
# Installs Hotline on a Debian 12 host: PostgreSQL, Redis, nginx, a 'hotline' system user, the code
# in /srv/hotline, the systemd units and the nginx site. Run as root from a checkout:
#   deploy/install.sh            then edit /etc/hotline/hotline.env and run it again
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
apt-get update -qq
apt-get install -y -qq postgresql redis-server nginx python3-venv npm rsync fonts-arphic-uming fonts-wqy-zenhei \
  rtpengine-daemon espeak-ng sox >/dev/null
# rtpengine runs as hotline-media.service with the project's arguments; the packaged service stays off
systemctl disable --now rtpengine-daemon 2>/dev/null || true
id hotline >/dev/null 2>&1 || useradd --system --home /srv/hotline --shell /usr/sbin/nologin hotline
install -d -o hotline -g hotline /srv/hotline /var/lib/hotline
install -d -m 0750 -o root -g hotline /etc/hotline
if [ ! -f /etc/hotline/hotline.env ]; then
  install -m 0640 -o root -g hotline "$src/deploy/hotline.env.example" /etc/hotline/hotline.env
  echo "edit /etc/hotline/hotline.env (secret key, hosts, database password), then run this again"
  exit 0
fi
rsync -a --delete --exclude .git --exclude .venv --exclude node_modules --exclude var "$src/" /srv/hotline/
chown -R hotline:hotline /srv/hotline
cd /srv/hotline
runuser -u hotline -- python3 -m venv .venv
runuser -u hotline -- .venv/bin/pip install -q -r requirements.lock
runuser -u hotline -- npm ci --no-audit --no-fund --loglevel=error
runuser -u hotline -- make vendor messages
set -a; . /etc/hotline/hotline.env; set +a
runuser -u hotline --preserve-environment -- .venv/bin/python manage.py migrate --noinput
runuser -u hotline --preserve-environment -- .venv/bin/python manage.py collectstatic --noinput -v 0
install -m 0644 deploy/systemd/hotline-web@.service deploy/systemd/hotline-jobs.service deploy/systemd/hotline-switch.service \
  deploy/systemd/hotline-media.service deploy/systemd/hotline.target /etc/systemd/system/
install -m 0644 deploy/nginx/hotline.conf /etc/nginx/sites-available/hotline.conf
ln -sf /etc/nginx/sites-available/hotline.conf /etc/nginx/sites-enabled/hotline.conf
systemctl daemon-reload
systemctl enable --now hotline.target
nginx -t && systemctl reload nginx
echo "Hotline is running behind nginx. Create the first administrator with:"
echo "  cd /srv/hotline && sudo -u hotline --preserve-env .venv/bin/python manage.py createadmin"
