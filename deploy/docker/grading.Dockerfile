# The grading service's image: the course's runtime and JupyterHub's service helpers
# (hub/requirements.txt), bubblewrap and util-linux (prlimit, setpriv) for the sandbox, the
# course's package, and hub/grading_service.py. It holds no masters: they are mounted read-only.
#   docker build -f deploy/docker/grading.Dockerfile -t registry.example.org/backprop-lab/grading:1 .
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap util-linux \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /app/requirements.txt
COPY hub/requirements.txt /app/hub/requirements.txt
RUN pip install --no-cache-dir -r /app/hub/requirements.txt
COPY autograder /app/course/autograder
COPY backprop_lab /app/course/backprop_lab
COPY pyproject.toml README.md /app/course/
RUN pip install --no-cache-dir --no-deps /app/course && rm -rf /app/course \
    && python -m ipykernel install --sys-prefix
COPY hub/grading_service.py /app/hub/grading_service.py
ENV PYTHONDONTWRITEBYTECODE=1 JUPYTER_PLATFORM_DIRS=1 HOME=/tmp
USER 10101:10101
EXPOSE 10101
CMD ["python", "/app/hub/grading_service.py"]
