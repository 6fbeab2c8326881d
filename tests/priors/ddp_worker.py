"""One rank of the DDP test, started by ``torchrun`` as a script (not imported from the test package):
trains with the arguments after ``--dump DIR`` and saves this rank's final weights to ``DIR/rank{RANK}.pt``."""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

from deq.priors.train import build_parser, train

if __name__ == "__main__":
    dump, argv = sys.argv[2], sys.argv[3:]
    torch.set_num_threads(1)
    ck = train(build_parser().parse_args(argv))
    torch.save(ck["model"], os.path.join(dump, f"rank{os.environ['RANK']}.pt"))
    dist.destroy_process_group()
