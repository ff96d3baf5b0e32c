# The learners' image (and the formgrader's): the course's environment from environment.yml,
# JupyterHub's single-user server at the hub's pin, and the course's package (check helpers and
# lesson code) installed as a package: no masters, no solutions.
#   docker build -f deploy/docker/singleuser.Dockerfile -t registry.example.org/backprop-lab/singleuser:1 .
FROM mambaorg/micromamba:1.5.10
COPY --chown=$MAMBA_USER:$MAMBA_USER environment.yml /tmp/environment.yml
RUN micromamba install --yes --name base --file /tmp/environment.yml && micromamba clean --all --yes
ARG MAMBA_DOCKERFILE_ACTIVATE=1
COPY --chown=$MAMBA_USER:$MAMBA_USER hub/requirements.txt /tmp/hub-requirements.txt
RUN grep '^jupyterhub==' /tmp/hub-requirements.txt | xargs pip install --no-cache-dir
COPY --chown=$MAMBA_USER:$MAMBA_USER autograder /tmp/course/autograder
COPY --chown=$MAMBA_USER:$MAMBA_USER backprop_lab /tmp/course/backprop_lab
COPY --chown=$MAMBA_USER:$MAMBA_USER pyproject.toml README.md /tmp/course/
RUN pip install --no-cache-dir --no-deps /tmp/course && rm -rf /tmp/course
ENV JUPYTER_PLATFORM_DIRS=1
WORKDIR /home/$MAMBA_USER
CMD ["jupyterhub-singleuser"]
