"""Chapter 08 trains its five fold models behind 0/1 masks: model f's loss is its mean NLL over the rows outside
fold f. The chapter's folds are rebuilt here, and that loss, computed by hand, is compared with helpers.ensemble_nll."""

import torch

from helpers import MixtureDensityNetwork, SeedEnsemble, ensemble_nll, mixture_nll, old_faithful

N_FOLDS = 5


def test_the_masked_loss_by_hand_is_ensemble_nll():
    waiting, duration = old_faithful()
    fold_generator = torch.Generator().manual_seed(0)
    fold_of_row = torch.empty(len(waiting), dtype=torch.long)
    fold_of_row[torch.randperm(len(waiting), generator=fold_generator)] = torch.arange(len(waiting)) % N_FOLDS
    training_masks = torch.stack([(fold_of_row != fold).float() for fold in range(N_FOLDS)])  # (folds, N)
    torch.manual_seed(0)
    fold_models = [MixtureDensityNetwork(2, 16).adapt_to_data(waiting[fold_of_row != fold], duration[fold_of_row != fold])
                   for fold in range(N_FOLDS)]
    with torch.no_grad():
        log_pi, sigma, mu = SeedEnsemble(fold_models)(waiting)  # each (folds, N, K): every model on every row
        by_hand = torch.stack([mixture_nll(log_pi[fold][rows], sigma[fold][rows], mu[fold][rows], duration[rows])
                               for fold, rows in enumerate(training_masks.bool())]).mean()
        assert torch.allclose(by_hand, ensemble_nll((log_pi, sigma, mu), duration, training_masks))
