# SaltStack: run routewall after the nginx configuration is deployed and before nginx
# (re)starts. `generate` tests the whole configuration with the new allowlist in place
# (`--nginx-conf`) and only then replaces the files; a failure stops the highstate and
# leaves the previous allowlist (and the running nginx) untouched.
include:
  - nginx.config        # deploys /etc/nginx/nginx.conf and sites
  - shop.app            # deploys the Flask app and its venv

routewall-allowlist:
  cmd.run:
    - name: >-
        routewall generate --source flask --app 'shop:create_app()'
        --venv /srv/shop/venv --target nginx --output /etc/nginx/routewall
        --nginx-conf /etc/nginx/nginx.conf
    - cwd: /srv/shop
    - unless: >-
        routewall check --source flask --app 'shop:create_app()'
        --venv /srv/shop/venv --target nginx --output /etc/nginx/routewall
    - require:
      - sls: nginx.config
      - sls: shop.app

routewall-protected:
  cmd.run:
    - name: routewall doctor --nginx-conf /etc/nginx/nginx.conf
    - require:
      - cmd: routewall-allowlist

nginx:
  service.running:
    - reload: True
    - require:
      - cmd: routewall-protected
    - watch:
      - cmd: routewall-allowlist
